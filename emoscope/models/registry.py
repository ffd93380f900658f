"""Model registry: every network is built by name, with its configuration registered beside it (like timm).

>>> from emoscope.models import create_model, list_models
>>> net = create_model("expr_resnet_cbam")
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import nn

_REGISTRY: dict[str, tuple[Callable[[Any], nn.Module], Any, str]] = {}


def register_model(name: str, builder: Callable[[Any], nn.Module], config: Any, description: str = "") -> None:
    """Register ``builder(config)`` under ``name``. Names are unique, built-in ones included."""
    _ensure_builtin()  # a user's model joins the built-in ones (and cannot take a built-in name)
    if name in _REGISTRY:
        raise KeyError(f"model {name!r} is already registered")
    _REGISTRY[name] = (builder, config, description)


def list_models() -> dict[str, str]:
    """Registered model names -> one-line descriptions."""
    _ensure_builtin()
    return {name: desc for name, (_, _, desc) in sorted(_REGISTRY.items())}


def get_config(name: str, **overrides: Any) -> Any:
    """The registered configuration of ``name``, with dataclass fields replaced by ``overrides``."""
    _ensure_builtin()
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered: {sorted(_REGISTRY)}")
    cfg = _REGISTRY[name][1]
    return dataclasses.replace(cfg, **overrides) if overrides else cfg


def create_model(name: str, **overrides: Any) -> nn.Module:
    """Build a registered model (randomly initialised). ``overrides`` change fields of its config."""
    cfg = get_config(name, **overrides)
    return _REGISTRY[name][0](cfg)


_BUILTINS_LOADED = False


def _ensure_builtin() -> None:
    """Register the built-in models once (importing :mod:`emoscope.models.zoo`, which calls :func:`register_model`)."""
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True  # first: the zoo's own register_model calls come back here
        from emoscope.models import zoo  # noqa: F401  (registers the built-in models)
