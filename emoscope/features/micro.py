"""From a user's onset and apex frames (or a whole clip) to the micro-expression networks' input.

1. :func:`align_clip`: find the face in the onset frame (largest face), and cut EVERY frame with the onset
   frame's similarity transform, framed like the MEGC2019 composite's face crops
   (:data:`~emoscope.faces.align.MEGC2019_TEMPLATE`). One transform for all frames keeps the face's own movements
   in the flow; a separate alignment per frame would add landmark jitter of the same size as a micro-expression.
2. :func:`micro_input`: onset -> apex optical flow (TV-L1 by default), optical strain, and the composite's
   normalisation to a ``(3, 28, 28)`` input.
3. :func:`find_apex`: when only a clip is given, the apex is the frame that moved most from the onset
   (mean flow magnitude after removing the median displacement, i.e. small head translations).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from emoscope.errors import EmoscopeError
from emoscope.faces.align import MEGC2019_TEMPLATE, FaceTemplate, align_face, alignment_matrix
from emoscope.faces.detect import Detection, FaceDetector, create_detector
from emoscope.features.flow import flow_to_input, optical_flow, optical_strain
from emoscope.input.images import to_grey_uint8

#: Side (px) of the aligned face crops the flow is computed on.
CROP_SIZE = 128


class NoFaceError(EmoscopeError, ValueError):
    """No face was found in the frame the clip's alignment is taken from."""


@dataclass
class AlignedClip:
    """Frames of one clip cut with one transform.

    frames: ``(T, S, S)`` uint8 grey aligned crops; matrix: the ``(2, 3)`` picture -> crop transform (from the
    reference frame); detection: the face found in the reference frame (picture coordinates), None when the frames
    were given already aligned.
    """

    frames: np.ndarray
    matrix: np.ndarray | None
    detection: Detection | None


def _largest(dets: Sequence[Detection]) -> Detection:
    return max(dets, key=lambda d: d.box[2] * d.box[3])


def align_clip(
    frames: Sequence[np.ndarray],
    *,
    detector: FaceDetector | None = None,
    reference: int = 0,
    size: int = CROP_SIZE,
    template: FaceTemplate = MEGC2019_TEMPLATE,
    names: Sequence[str] | None = None,
) -> AlignedClip:
    """Detect the face in ``frames[reference]`` and cut every frame with its transform.

    frames: pictures of one clip, all the same size, grey or BGR. Raises :class:`NoFaceError` (naming the frame
    when ``names`` are given) when the reference frame has no face, ValueError when the frames differ in size.
    """
    if len(frames) == 0:
        raise ValueError("no frames")
    greys = [to_grey_uint8(f) for f in frames]
    shapes = {g.shape for g in greys}
    if len(shapes) > 1:
        raise ValueError(f"the frames of a clip must have one size, got {sorted(shapes)}")
    det = detector if detector is not None else create_detector()
    # as given: a colour-reading detector finds more in colour
    found = det.detect(np.asarray(frames[reference]))
    if not found:
        where = names[reference] if names is not None else f"frame {reference}"
        raise NoFaceError(f"{where}: no face found in the reference (onset) frame")
    face = _largest(found)
    m = alignment_matrix(face, size, template)
    crops = np.stack([align_face(g, matrix=m, size=size) for g in greys])
    return AlignedClip(frames=crops, matrix=m, detection=face)


@dataclass
class MicroInput:
    """The network input of one onset -> apex pair and what it was made from.

    input: ``(3, 28, 28)`` float32 in ``[0, 1]`` (u, v, strain; see :func:`~emoscope.features.flow.flow_to_input`);
    flow: ``(S, S, 2)`` float32 px on the aligned crops; strain: ``(S, S)``; motion: mean flow magnitude (px,
    after removing the median displacement) — near 0 means the two frames barely differ.
    """

    input: np.ndarray
    flow: np.ndarray
    strain: np.ndarray
    motion: float


def motion_magnitude(flow: np.ndarray) -> float:
    """Mean flow magnitude in pixels after subtracting the median displacement (global translation)."""
    f = np.asarray(flow, np.float32).reshape(-1, 2)
    f = f - np.median(f, axis=0)
    return float(np.hypot(f[:, 0], f[:, 1]).mean())


def micro_input(onset: np.ndarray, apex: np.ndarray, method: str = "tvl1", size: int = 28) -> MicroInput:
    """Flow, strain and the ``(3, size, size)`` network input between two ALIGNED crops of the same size."""
    flow = optical_flow(onset, apex, method)
    strain = optical_strain(flow)
    return MicroInput(
        input=flow_to_input(flow, strain, size), flow=flow, strain=strain, motion=motion_magnitude(flow)
    )


@dataclass
class ApexSearch:
    """Result of :func:`find_apex`: the chosen frame and the motion score of every frame (px; onset = 0)."""

    index: int
    scores: list[float] = field(default_factory=list)


def find_apex(aligned: np.ndarray, onset: int = 0, method: str = "farneback", size: int = 64) -> ApexSearch:
    """The frame of largest motion from the onset frame.

    aligned: ``(T, S, S)`` aligned grey crops of one clip (:func:`align_clip`); the flow from ``aligned[onset]``
    to each later frame is computed at ``size`` px (Farnebäck by default: fast) and scored with
    :func:`motion_magnitude`. Frames before the onset score 0. Returns the frame AFTER the onset with the largest
    score (the first one when no frame moved at all: then every score is 0).
    """
    import cv2

    a = np.asarray(aligned)
    if a.ndim != 3 or len(a) < 2:
        raise ValueError(f"need (T >= 2, S, S) aligned frames, got shape {a.shape}")
    if not 0 <= onset < len(a) - 1:
        raise ValueError(f"onset index {onset} must leave at least one frame after it (T = {len(a)})")
    small = [cv2.resize(to_grey_uint8(f), (size, size), interpolation=cv2.INTER_AREA) for f in a]
    scores = [0.0] * len(a)
    for t in range(onset + 1, len(a)):
        scores[t] = motion_magnitude(optical_flow(small[onset], small[t], method))
    return ApexSearch(
        index=onset + 1 + int(np.argmax(scores[onset + 1 :])), scores=[round(s, 5) for s in scores]
    )


def stabilise(frames: np.ndarray, reference: int = 0, work_size: int = 64) -> np.ndarray:
    """Register every frame of ``(T, S, S)`` grey face crops to ``frames[reference]`` with an affine warp
    (ECC maximisation, Evangelidis & Psarakis 2008, on ``work_size`` px copies; each frame starts from the previous
    frame's warp). Removes what per-frame landmark alignment leaves: jitter of a pixel or two and small head
    movements, which would otherwise swamp a micro-expression. A local movement (one face region) barely moves a
    warp fitted to the whole face. Frames where ECC does not converge keep the last good warp.
    Returns ``(T, S, S)`` uint8.
    """
    import cv2

    a = np.asarray(frames)
    if a.ndim != 3 or len(a) == 0:
        raise ValueError(f"need (T, S, S) grey crops, got shape {a.shape}")
    h, w = a.shape[1:]
    kx, ky = w / work_size, h / work_size
    small = [cv2.resize(to_grey_uint8(f), (work_size, work_size), interpolation=cv2.INTER_AREA).astype(np.float32)
             for f in a]  # fmt: skip
    ref = small[reference]
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 1e-4)
    out = np.empty_like(a, dtype=np.uint8)
    out[reference] = to_grey_uint8(a[reference])
    for order in (range(reference + 1, len(a)), range(reference - 1, -1, -1)):
        warp = np.eye(2, 3, dtype=np.float32)
        for t in order:
            with contextlib.suppress(cv2.error):  # not converged: keep the previous warp
                _, warp = cv2.findTransformECC(ref, small[t], warp.copy(), cv2.MOTION_AFFINE, crit, None, 5)
            full = warp.copy()
            full[0, 2] *= kx
            full[1, 2] *= ky
            full[0, 1] *= kx / ky
            full[1, 0] *= ky / kx
            out[t] = cv2.warpAffine(to_grey_uint8(a[t]), full, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
    return out
