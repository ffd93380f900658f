"""Checks on the real datasets in ``../shared/data`` (relative to the repository root); skipped when absent.

Only the small splits are loaded (a few seconds). Counts are the documented ones (see ``../shared/data/README.md``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emoscope.datasets import FaceSet, load_fer2013, load_ferplus, match_images
from emoscope.labels import FER2013_CLASSES, FERPLUS_CLASSES

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT.parent / "shared" / "data"

pytestmark = pytest.mark.data

if not DATA.is_dir():
    pytest.skip(f"shared data not found at {DATA}", allow_module_level=True)


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is absent")
    return path


@pytest.fixture(scope="module")
def fer_public() -> FaceSet:
    return load_fer2013(_need(DATA / "fer2013" / "test").parent, "PublicTest")


@pytest.fixture(scope="module")
def ferplus_valid() -> FaceSet:
    return load_ferplus(_need(DATA / "ferplus" / "FER2013Valid").parent, "valid")


def _sane(fs: FaceSet, classes: tuple[str, ...]) -> None:
    assert fs.classes == classes
    assert fs.images.shape == (len(fs), 48, 48) and fs.images.dtype == np.uint8
    assert len(fs.labels) == len(fs.paths) == len(fs)
    assert fs.errors == []
    assert fs.labels.min() >= -1 and fs.labels.max() < len(classes)
    assert all(n > 0 for n in fs.class_counts().values())


def test_fer2013_public_test(fer_public: FaceSet) -> None:
    assert len(fer_public) == 3589
    _sane(fer_public, FER2013_CLASSES)
    assert (fer_public.labels >= 0).all()
    assert all(Path(p).name.startswith("PublicTest_") for p in fer_public.paths)


def test_ferplus_valid(ferplus_valid: FaceSet) -> None:
    assert len(ferplus_valid) == 3579
    _sane(ferplus_valid, FERPLUS_CLASSES)
    assert ferplus_valid.votes is not None and ferplus_valid.votes.shape == (3579, 10)
    assert (ferplus_valid.votes >= 0).all()
    # most images have an emotion majority; a few are unknown / not a face
    assert 0.95 < (ferplus_valid.labels >= 0).mean() < 1.0


def test_ferplus_valid_from_fer2013new_csv(ferplus_valid: FaceSet) -> None:
    fs = load_ferplus(_need(DATA / "ferplus" / "fer2013new.csv"), "PublicTest")
    assert len(fs) == 3579
    assert fs.paths == ferplus_valid.paths
    np.testing.assert_array_equal(fs.images, ferplus_valid.images)
    # the folders' label.csv and fer2013new.csv are different releases of the votes: they agree on most rows only
    # (on this copy 246 of 3579 Valid rows differ, 38 of them in the majority label)
    assert (fs.votes == ferplus_valid.votes).all(axis=1).mean() > 0.9
    assert (fs.labels == ferplus_valid.labels).mean() > 0.98


def test_ferplus_valid_pictures_are_fer2013_public_test(fer_public: FaceSet, ferplus_valid: FaceSet) -> None:
    match = match_images(ferplus_valid.images, fer_public.images)
    assert (match >= 0).mean() > 0.99
