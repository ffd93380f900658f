"""Reading short clips from frame folders and video files, with clear errors."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emoscope.errors import InputError
from emoscope.input.clips import frame_files, read_clip


def _frame(i: int, h: int = 40, w: int = 48) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[:, :, 1] = 20 * i
    return img


def test_frame_folder_in_numeric_order(tmp_path: Path) -> None:
    for n in (100, 46, 9):
        cv2.imwrite(str(tmp_path / f"img{n}.png"), _frame(n // 10))
    cv2.imwrite(str(tmp_path / "zzz.png"), _frame(0))
    (tmp_path / "notes.txt").write_text("not a frame")
    assert [p.name for p in frame_files(tmp_path)] == ["img9.png", "img46.png", "img100.png", "zzz.png"]
    clip = read_clip(tmp_path)
    assert len(clip.frames) == 4 and clip.fps is None
    assert [int(f[0, 0, 1]) for f in clip.frames] == [0, 80, 200, 0]


def test_video(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25, (48, 40))
    for i in range(6):
        w.write(_frame(i))
    w.release()
    clip = read_clip(path)
    assert len(clip.frames) == 6 and clip.fps == pytest.approx(25)
    assert clip.names[2].endswith("clip.avi#2")
    with pytest.raises(InputError, match="more than 3 frames"):
        read_clip(path, max_frames=3)


def test_bad_clips(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        read_clip(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no frame images"):
        read_clip(tmp_path / "empty")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "1.png"), _frame(1))
    cv2.imwrite(str(mixed / "2.png"), _frame(2, h=30))
    with pytest.raises(InputError, match=r"2.png: frame size 48x30 differs from the first frame's 48x40"):
        read_clip(mixed)
    (mixed / "2.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(InputError, match="2.png"):
        read_clip(mixed)
    (tmp_path / "zero.mp4").write_bytes(b"")
    with pytest.raises(InputError, match="zero.mp4: file is empty"):
        read_clip(tmp_path / "zero.mp4")
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video" * 50)
    with pytest.raises(InputError, match="junk.mp4"):
        read_clip(tmp_path / "junk.mp4")
