"""find_apex chooses a frame AFTER the onset, never the onset itself or a frame before it."""

from __future__ import annotations

import numpy as np

from emoscope.features import find_apex


def _frames(n: int, moved: set[int]) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = (rng.random((128, 128)) * 255).astype(np.uint8)
    base = np.asarray(
        np.kron(base[::8, ::8], np.ones((8, 8))), np.uint8
    )  # blocks: flow has texture to follow
    shifted = base.copy()
    shifted[40:90, 40:90] = np.roll(base[40:90, 40:90], 3, axis=1)  # a local movement (not the whole face)
    return np.stack([shifted if t in moved else base for t in range(n)])


def test_apex_is_after_the_onset_even_in_a_still_clip() -> None:
    # nothing moves at all (every score 0): the old search returned frame 0, the onset or a frame before it
    flat = np.full((5, 128, 128), 128, np.uint8)
    for onset in (0, 2):
        search = find_apex(flat, onset=onset)
        assert search.index == onset + 1 and search.scores == [0.0] * 5
    # frame 0 differs from the onset (frame 2), the frames after it hardly do
    search = find_apex(_frames(5, {0}), onset=2)
    assert search.index == 3 and max(search.scores[3:]) < 0.05


def test_apex_is_the_frame_that_moved_most() -> None:
    search = find_apex(_frames(5, {3}), onset=1)
    assert search.index == 3 and search.scores[3] > 10 * max(search.scores[2], search.scores[4])
