"""Shared fixtures: tiny synthetic face-like images, generated inside the tests (no files from real datasets)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest


def smooth_face(rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """A random but smooth ``(size, size)`` uint8 grey picture (survives JPEG like a real face crop does)."""
    coarse = rng.integers(0, 256, (6, 6)).astype(np.float32)
    img = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240601)


@pytest.fixture
def make_face(rng: np.random.Generator) -> Callable[..., np.ndarray]:
    """``make_face(size=48)`` -> a new smooth random grey picture."""
    return lambda size=48: smooth_face(rng, size)


@pytest.fixture
def write_image() -> Callable[..., Path]:
    """``write_image(path, array)`` writes with OpenCV (format from the suffix), creating parent folders."""

    def _write(path: Path, img: np.ndarray) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(path), img), path
        return path

    return _write


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A randomly initialised expression network exported like the shipped model (ONNX + metadata .json)."""
    import json

    import torch

    from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES
    from emoscope.models import create_model
    from emoscope.tasks.expression.export import export_onnx

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("model")
    export_onnx(create_model("expr_resnet_plain"), d / "m.onnx")
    meta = {"input_size": 48, "default_head": "ferplus",
            "heads": {"ferplus": {"classes": list(FERPLUS_CLASSES), "temperature": 1.5},
                      "fer2013": {"classes": list(FER2013_CLASSES), "temperature": 1.0}}}  # fmt: skip
    (d / "m.json").write_text(json.dumps(meta))
    return d / "m.onnx"
