"""Beyond the basic classes (issue P6): compound expressions, intensity and valence / arousal.

- :mod:`~emoscope.tasks.affect.compound`: the Du et al. 2014 / RAF-DB compound labels from the FER+ head's
  distribution (rule fitted on FER+ validation, stored in the model metadata), the FER+ compound protocol and its
  evaluation;
- :mod:`~emoscope.tasks.affect.circumplex`: intensity and valence / arousal DERIVED from the emotion distribution;
- :mod:`~emoscope.tasks.affect.va`: valence / arousal regression models (ONNX inference, CCC / RMSE evaluation);
  :mod:`~emoscope.tasks.affect.va_train`: their training and export (PyTorch);
- :mod:`~emoscope.tasks.affect.reader`: :class:`AffectReader`, the per-face readings the API and CLI report.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "CIRCUMPLEX": "circumplex",
    "derived_valence_arousal": "circumplex",
    "intensity": "circumplex",
    "COMPOUND_PAIRS": "compound",
    "CompoundRule": "compound",
    "calibrate_compound": "compound",
    "compound_name": "compound",
    "AffectReader": "reader",
    "AffectReading": "reader",
    "VARegressor": "va",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:  # lazy: importing the package stays cheap (the CLI registers its commands)
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"emoscope.tasks.affect.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'emoscope.tasks.affect' has no attribute {name!r}")
