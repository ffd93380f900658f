"""Models (PyTorch, for training): a registry of networks built by name.

Inference does not import this package; it runs the exported ONNX files (see :mod:`emoscope.tasks`).
"""

from emoscope.models.registry import create_model, get_config, list_models, register_model

__all__ = ["create_model", "get_config", "list_models", "register_model"]
