"""Reading a short clip (a micro-expression: a few dozen frames) into memory, from a folder of frame images or
a video file.

Frames in a folder are ordered by the LAST number in their file name (``img46.jpg`` before ``img100.jpg``;
``006_05562.jpg``, ``image0643434.bmp`` as in CASME II, SAMM and SMIC), names without a number after those, by name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emoscope.errors import InputError
from emoscope.input.images import read_image

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")
#: Most frames read from one clip (a micro-expression lasts < 0.5 s: 100 frames even at 200 fps).
MAX_CLIP_FRAMES = 1000


@dataclass
class Clip:
    """frames: BGR uint8 pictures, all one size; names: where each came from (file, or ``video.mp4#frame``);
    fps: frames per second when known (video), else None; problems: what went wrong decoding a video that was
    read only up to a break (truncated or corrupt), each naming the file and the frames read, for the caller to
    report (as ``emoscope video`` does)."""

    frames: list[np.ndarray]
    names: list[str]
    fps: float | None = None
    source: str = ""
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def frame_sort_key(path: Path) -> tuple[int, int, str]:
    """Sort key: the last integer in the file name (names without one sort after, by name)."""
    nums = re.findall(r"\d+", path.stem)
    return (0, int(nums[-1]), path.name) if nums else (1, 0, path.name)


def frame_files(folder: str | Path) -> list[Path]:
    """The image files of a frame folder, in frame order."""
    d = Path(folder)
    return sorted(
        (p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=frame_sort_key
    )


def read_clip(path: str | Path, max_frames: int = MAX_CLIP_FRAMES) -> Clip:
    """Read a clip from a folder of frames or a video file. Raises :class:`InputError` naming the file (or the
    frame) when the path is missing, holds no frames, a frame is unreadable, the frames differ in size, the video
    cannot be decoded, or the clip is longer than ``max_frames``."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "does not exist")
    if p.is_dir():
        files = frame_files(p)
        if not files:
            raise InputError(p, f"folder holds no frame images ({', '.join(IMAGE_SUFFIXES)})")
        if len(files) > max_frames:
            raise InputError(
                p, f"{len(files)} frames: more than {max_frames}; cut the clip around the movement"
            )
        frames = [read_image(f) for f in files]
        (h0, w0) = frames[0].shape[:2]
        for f, im in zip(files, frames, strict=True):
            if im.shape[:2] != (h0, w0):
                h, w = im.shape[:2]
                raise InputError(f, f"frame size {w}x{h} differs from the first frame's {w0}x{h0}")
        return Clip(frames=frames, names=[str(f) for f in files], source=str(p))
    return _read_video(p, max_frames)


def _read_video(p: Path, max_frames: int) -> Clip:
    """The frames of a short video file, decoded by :func:`emoscope.input.video.open_video` (its errors name the
    file)."""
    from emoscope.input.video import open_video

    reader = open_video(p, max_frames=max_frames + 1)
    try:
        frames = [f.image for f in reader]
    finally:
        reader.close()
    if len(frames) > max_frames:
        raise InputError(p, f"more than {max_frames} frames; cut the clip around the movement")
    if not frames:
        raise InputError(p, "no frame could be decoded (empty, truncated or not a video)")
    fps = reader.fps if reader.fps_reported else None
    return Clip(frames=frames, names=[f"{p}#{i}" for i in range(len(frames))], fps=fps, source=str(p),
                problems=list(reader.problems))  # fmt: skip
