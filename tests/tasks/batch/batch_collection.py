"""The generated collection of the batch tests: photos, a video and bad files (schematic faces on plain canvases:
the dlib detector finds them)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from emoscope.outputs.demo import schematic_face
from emoscope.tasks.video.synthetic import MovingFace, render_clip, write_clip

try:
    import pyarrow  # noqa: F401

    #: Output format of the tests' jobs: Parquet when pyarrow is installed (the batch extra), else JSON Lines.
    FMT = "parquet"
except ImportError:
    FMT = "jsonl"

#: Inputs that are analysed (rows) and inputs that must be recorded as errors.
GOOD = ["a/img0.png", "a/img2.png", "b/sub/img1.jpg", "clip.avi", "img3.png", "two_faces.png", "noface.jpg"]
BAD = {"zero.png": "empty", "fake.jpg": "not an image", "broken.avi": "video", "cut.png": "corrupt"}


def photo(moods: list[str], shade: int) -> np.ndarray:
    img = np.full((180, 130 + 120 * len(moods), 3), shade, np.uint8)
    for i, mood in enumerate(moods):
        img[35:145, 40 + 120 * i : 150 + 120 * i] = schematic_face(mood, 110)
    return img


def write_collection(root: Path) -> Path:
    """The test collection under ``root``: 6 photos (one with two faces, one without), a 10-frame video, 4 bad files
    (0 bytes, text named .jpg, garbage named .avi, a truncated PNG), and files that are not inputs."""
    root.mkdir(parents=True, exist_ok=True)
    photos = {"a/img0.png": ["smile"], "b/sub/img1.jpg": ["frown"], "a/img2.png": ["surprise"],
              "img3.png": ["neutral"], "two_faces.png": ["smile", "surprise"]}  # fmt: skip
    for i, (name, moods) in enumerate(photos.items()):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(root / name), photo(moods, 90 + 15 * i))
    assert cv2.imwrite(str(root / "noface.jpg"), np.full((120, 160, 3), 90, np.uint8))
    face = MovingFace(schematic_face("surprise", 192), [(0.0, 100, 80, 100), (0.5, 130, 90, 100)])
    frames, _ = render_clip([face], [i / 20 for i in range(10)], size=(240, 180))
    write_clip(root / "clip.avi", frames, 20)
    (root / "zero.png").write_bytes(b"")
    (root / "fake.jpg").write_text("this is not an image")
    (root / "broken.avi").write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(range(256)) * 4)
    ok, png = cv2.imencode(".png", photo(["smile"], 120))
    (root / "cut.png").write_bytes(png.tobytes()[: len(png) // 2])
    (root / "notes.txt").write_text("not an input")
    (root / ".hidden.png").write_bytes((root / "img3.png").read_bytes())
    return root
