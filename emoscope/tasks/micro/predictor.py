"""Micro-expression inference on ONNX Runtime (no PyTorch needed), from a flow input, an onset/apex pair or a clip.

The shipped model lives in ``emoscope/weights/``: ``micro.onnx`` (input ``flow``: ``(N, 3, 28, 28)`` float32 in
[0, 1]; output ``logits`` ``(N, 3)``) and ``micro.json`` (classes, temperature, LOSO figures, provenance), made by
``emoscope train micro`` (see the README).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emoscope.errors import InputError
from emoscope.faces.detect import FaceDetector
from emoscope.features.micro import CROP_SIZE, align_clip, find_apex, micro_input, stabilise
from emoscope.outputs.micro_results import MicroResult
from emoscope.tasks.expression.predictor import WEIGHTS_DIR, check_threads, softmax
from emoscope.tasks.micro.spotting import SpotConfig, SpotResult
from emoscope.tasks.micro.spotting import spot as spot_aligned

DEFAULT_MICRO_MODEL = WEIGHTS_DIR / "micro.onnx"
#: Apex search: when no frame after the onset moved more than this (px, :func:`find_apex` scores), the clip is still
#: (identical frames score about 1e-4; a micro-expression 0.1 px or more) and no apex can be estimated.
STILL_MOTION = 1e-3


class MicroRecognizer:
    """Classify onset->apex flow inputs into micro-expression classes (negative / positive / surprise).

    model: an ``.onnx`` file with its ``.json`` metadata beside it (default: the shipped model).
    calibrated: apply the temperature fitted on held-out LOSO predictions.
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None, calibrated: bool = True):
        import onnxruntime as ort

        self.model_path = Path(model) if model else DEFAULT_MICRO_MODEL
        meta_path = self.model_path.with_suffix(".json")
        if not self.model_path.is_file():
            raise FileNotFoundError(f"{self.model_path}: micro-expression model not found")
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"{meta_path}: model metadata (classes, temperature) not found beside the model"
            )
        try:
            self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(meta_path, f"model metadata cannot be read as JSON ({e})") from e
        if not isinstance(self.meta, dict) or self.meta.get("task") != "micro":
            task = self.meta.get("task") if isinstance(self.meta, dict) else None
            raise InputError(self.model_path, f"not a micro-expression model (task {task!r})")
        try:
            self.classes: tuple[str, ...] = tuple(str(c) for c in self.meta["classes"])
            self.temperature = float(self.meta.get("temperature", 1.0)) if calibrated else 1.0
            self.input_size = int(self.meta.get("input_size", 28))
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(
                meta_path, f"model metadata lacks valid classes / temperature / input_size ({e!r})"
            ) from e
        check_threads(threads)
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        try:
            self._session = ort.InferenceSession(str(self.model_path), so, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own types (InvalidProtobuf, Fail, ...)
            raise InputError(self.model_path, f"cannot be loaded as an ONNX model ({e})") from e

    def predict_proba(self, flow: np.ndarray) -> np.ndarray:
        """``(N, 3, 28, 28)`` (or one ``(3, 28, 28)``) float32 input in [0, 1] -> ``(N, K)`` probabilities."""
        x = np.asarray(flow, np.float32)
        if x.ndim == 3:
            x = x[None]
        s = self.input_size
        if x.ndim != 4 or x.shape[1:] != (3, s, s):
            raise ValueError(f"flow input must have shape (N, 3, {s}, {s}), got {x.shape}")
        z = self._session.run(None, {"flow": np.ascontiguousarray(x)})[0]
        return softmax(z / self.temperature)

    # ------------------------------------------------------------------------------------------- frames
    def analyze_pair(
        self,
        onset: np.ndarray,
        apex: np.ndarray,
        *,
        aligned: bool = False,
        detector: FaceDetector | None = None,
        method: str = "tvl1",
        names: tuple[str | None, str | None] = (None, None),
    ) -> MicroResult:
        """Micro-expression between an onset and an apex frame (pictures of the same size, grey or BGR).

        aligned: the frames are already face crops of one geometry (skip detection; they are resized to the
        working size); otherwise the face is found in the onset frame and both frames are cut with its transform.
        """
        if names == (None, None):  # paths name themselves in messages
            names = tuple(str(f) if isinstance(f, (str, os.PathLike)) else None for f in (onset, apex))
        return self.analyze_frames([onset, apex], aligned=aligned, detector=detector, method=method, apex=1,
                                   names=[n or f"frame {i}" for i, n in enumerate(names)])  # fmt: skip

    def analyze_frames(
        self,
        frames: Sequence[np.ndarray],
        *,
        onset: int = 0,
        apex: int | None = None,
        aligned: bool = False,
        detector: FaceDetector | None = None,
        method: str = "tvl1",
        names: Sequence[str] | None = None,
        source: str | None = None,
    ) -> MicroResult:
        """Micro-expression of a clip: ``frames[onset]`` to ``frames[apex]``; with ``apex=None`` the apex is the
        frame of largest motion after the onset (:func:`~emoscope.features.micro.find_apex`; the choice and
        the motion scores are in the result).

        source: what the clip is called in error messages (its folder or video file). Raises
        :class:`~emoscope.errors.InputError` naming it when the clip has fewer than 2 frames, the onset or apex is
        outside the clip, the apex is not after the onset, or (apex estimated) no frame after the onset moved.
        """
        where = source or "clip"
        frames = checked_frames(frames, aligned=aligned, names=names)
        check_onset_apex(len(frames), onset, apex, where)
        if aligned:
            crops = aligned_crops(frames, aligned=True)
            box, score = None, None
        else:
            clip = align_clip(frames, detector=detector, reference=onset, names=names)
            crops = clip.frames
            box, score = clip.detection.box, clip.detection.score
        scores = None
        if apex is None:
            search = find_apex(crops, onset)
            apex, scores = search.index, search.scores
            if max(scores[onset + 1 :]) < STILL_MOTION:
                raise InputError(where, f"no frame after the onset frame {onset} differs from it: the apex cannot "
                                 "be estimated (give the apex frame)")  # fmt: skip
        mi = micro_input(crops[onset], crops[apex], method)
        p = self.predict_proba(mi.input)[0]
        return MicroResult(
            label=self.classes[int(p.argmax())],
            probabilities={c: float(v) for c, v in zip(self.classes, p, strict=True)},
            onset_frame=onset,
            apex_frame=int(apex),
            apex_estimated=scores is not None,
            motion=mi.motion,
            motion_scores=scores,
            box=tuple(int(v) for v in box) if box is not None else None,
            face_score=score,
            n_frames=len(frames),
            method=method,
        )


#: What :meth:`MicroRecognizer.analyze_frames` takes as frames, in words (used in error messages).
ACCEPTED_FRAMES = ("a list (or tuple) of pictures: numpy arrays (H, W) grey or (H, W, 3) BGR, or image file paths "
                   "(str or os.PathLike), or a (T, H, W[, 3]) array")  # fmt: skip
#: Smallest side of an aligned face crop (pixels); smaller pictures hold no face to read motion from.
MIN_ALIGNED_SIDE = 8


def checked_frames(frames: object, *, aligned: bool = False, names: Sequence[str] | None = None) -> list[np.ndarray]:
    """The frames of a clip as a list of arrays: paths are read with :func:`~emoscope.input.images.read_image`;
    a TypeError for another container or item type (a folder, a video file or a generator: read the clip with
    :func:`emoscope.input.clips.read_clip` first), a ValueError for an array that is not a picture (shape, NaN/inf,
    an aligned crop smaller than ``MIN_ALIGNED_SIDE``)."""
    from emoscope.input.images import read_image

    if isinstance(frames, (str, os.PathLike)):
        raise TypeError(f"frames must be {ACCEPTED_FRAMES}; got the path {str(frames)!r} (read a clip folder or "
                        "video with emoscope.input.clips.read_clip(path).frames)")  # fmt: skip
    if isinstance(frames, np.ndarray):
        if frames.ndim not in (3, 4):
            raise ValueError(f"frames array must be (T, H, W) or (T, H, W, 3); got shape {frames.shape}")
        frames = list(frames)
    elif not isinstance(frames, (list, tuple)):
        raise TypeError(f"frames must be {ACCEPTED_FRAMES}; got {type(frames).__name__}"
                        + (" (make a list of it first)" if hasattr(frames, "__iter__") else ""))  # fmt: skip
    out = []
    for i, f in enumerate(frames):
        name = names[i] if names is not None and i < len(names) and names[i] else f"frame {i}"
        if isinstance(f, (str, os.PathLike)):
            out.append(read_image(f))
            continue
        if not isinstance(f, np.ndarray):
            raise TypeError(f"{name}: each frame must be a numpy array or an image file path; got {type(f).__name__}")
        ok_shape = f.ndim == 2 or (f.ndim == 3 and f.shape[2] in (1, 3, 4))
        if not ok_shape:
            raise ValueError(f"{name}: a frame must be (H, W) grey or (H, W, 3) BGR; got shape {f.shape}")
        numeric = f.dtype == bool or np.issubdtype(f.dtype, np.integer) or np.issubdtype(f.dtype, np.floating)
        if not numeric:
            raise ValueError(f"{name}: a frame must hold numbers (uint8, uint16 or float in [0, 1]); got {f.dtype}")
        if f.size == 0:
            raise ValueError(f"{name}: the frame has no pixels (shape {f.shape})")
        if np.issubdtype(f.dtype, np.floating) and not np.isfinite(f).all():
            raise ValueError(f"{name}: the frame holds NaN or infinite values")
        if aligned and min(f.shape[:2]) < MIN_ALIGNED_SIDE:
            h, w = f.shape[:2]
            raise ValueError(f"{name}: an aligned face crop must be at least {MIN_ALIGNED_SIDE}x{MIN_ALIGNED_SIDE} "
                             f"pixels; got {w}x{h}")  # fmt: skip
        out.append(f)
    return out


def check_onset_apex(n_frames: int, onset: int, apex: int | None, source: str = "clip") -> None:
    """Raise :class:`~emoscope.errors.InputError` naming ``source`` unless a clip of ``n_frames`` frames has an
    onset frame with a later frame, and ``apex`` (None: to be estimated) lies after the onset inside the clip."""
    last = n_frames - 1
    if n_frames < 2:
        raise InputError(source, f"a clip needs at least 2 frames (onset and apex), it has {n_frames}")
    if not 0 <= onset <= last:
        raise InputError(source, f"onset frame {onset} is outside the clip (frames 0-{last})")
    if apex is None:
        if onset == last:
            raise InputError(
                source, f"onset frame {onset} is the last frame: no frame after it can be the apex"
            )
        return
    if not 0 <= apex <= last:
        raise InputError(source, f"apex frame {apex} is outside the clip (frames 0-{last})")
    if apex == onset:
        raise InputError(source, f"apex frame {apex} must differ from the onset frame {onset}")
    if apex < onset:
        raise InputError(source, f"apex frame {apex} comes before the onset frame {onset}")


def aligned_crops(
    frames: Sequence[np.ndarray], *, aligned: bool = False, detector: FaceDetector | None = None,
    names: Sequence[str] | None = None,
) -> np.ndarray:  # fmt: skip
    """``(T, 128, 128)`` uint8 crops of a clip: resized when ``aligned`` (already face crops), else cut with the
    first frame's face alignment (:func:`~emoscope.features.micro.align_clip`)."""
    import cv2

    from emoscope.input.images import to_grey_uint8

    if aligned:
        return np.stack([cv2.resize(to_grey_uint8(f), (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_AREA)
                         for f in frames])  # fmt: skip
    return align_clip(frames, detector=detector, names=names).frames


def spot_frames(
    frames: Sequence[np.ndarray],
    fps: float,
    *,
    recognizer: MicroRecognizer | None = None,
    aligned: bool = False,
    detector: FaceDetector | None = None,
    config: SpotConfig | None = None,
    threshold: float | None = None,
    method: str = "tvl1",
    names: Sequence[str] | None = None,
) -> SpotResult:
    """Find micro-expressions in a clip of one face (:func:`~emoscope.tasks.micro.spotting.spot`) and, with a
    ``recognizer``, classify each micro interval from its onset to its apex frame.

    frames: pictures of the clip (the face is found in the first one and every frame is cut with its transform,
    then registered to the first crop with :func:`~emoscope.features.micro.stabilise`), or face crops with
    ``aligned=True`` (registered the same way).
    fps: frames per second of the clip.
    """
    crops = stabilise(aligned_crops(frames, aligned=aligned, detector=detector, names=names))
    res = spot_aligned(crops, fps, config or SpotConfig(), threshold)
    if recognizer is not None:
        for iv in res.micro:
            if iv.apex == iv.onset:
                continue
            p = recognizer.predict_proba(micro_input(crops[iv.onset], crops[iv.apex], method).input)[0]
            iv.label = recognizer.classes[int(p.argmax())]
            iv.probabilities = {c: float(v) for c, v in zip(recognizer.classes, p, strict=True)}
    return res
