"""The one preprocessing function shared by training, evaluation and inference.

A face crop of any size and colour becomes a ``48 x 48`` grey float32 image with values in ``[0, 255]``.
Photometric normalisation (per-image standardisation) is done *inside* the networks
(:class:`emoscope.models.layers.InputStandardize`), so it is part of the exported ONNX graph and
cannot drift between training and inference.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from emoscope.input.images import to_grey_uint8

#: Side of the square face image the expression models take, in pixels.
FACE_SIZE = 48


def prepare_face(crop: np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """One face crop -> ``(size, size)`` float32 grey in ``[0, 255]``.

    ``crop``: ``(H, W)`` grey or ``(H, W, 3)`` BGR / ``(H, W, 4)`` BGRA, uint8 (or uint16, bool, float in [0, 1] or in [0, 255]).
    """
    a = np.asarray(crop)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3:
        if a.shape[2] not in (3, 4):
            raise ValueError(f"face crop must have 1, 3 or 4 channels, got shape {a.shape}")
    elif a.ndim != 2:
        raise ValueError(f"face crop must be (H, W) or (H, W, C), got shape {a.shape}")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"face crop is empty, shape {a.shape}")
    a = to_grey_uint8(a).astype(np.float32)  # the input stage's one array converter (8-bit, like the training data)
    if a.shape != (size, size):
        shrink = a.shape[0] > size or a.shape[1] > size
        a = cv2.resize(a, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    return a


def prepare_faces(crops: Sequence[np.ndarray] | np.ndarray, size: int = FACE_SIZE) -> np.ndarray:
    """Many face crops -> ``(N, 1, size, size)`` float32 batch in ``[0, 255]`` (the models' input)."""
    if isinstance(crops, np.ndarray) and crops.ndim == 3 and crops.shape[1:] == (size, size):
        return crops.astype(np.float32)[:, None]
    out = np.empty((len(crops), 1, size, size), np.float32)
    for i, c in enumerate(crops):
        out[i, 0] = prepare_face(c, size)
    return out
