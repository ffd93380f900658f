"""Facial expression recognition: training (PyTorch), evaluation, calibration, export and ONNX inference."""
