"""Metrics shared by every task: accuracy, macro-F1, per-class recall, UF1/UAR, calibration error."""

from emoscope.evaluation.metrics import classification_report, expected_calibration_error, uf1_uar

__all__ = ["classification_report", "expected_calibration_error", "uf1_uar"]
