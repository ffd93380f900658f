"""Tests of the FER2013 loaders on tiny fake datasets in the real layouts (folders and fer2013.csv)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from emoscope.datasets import FaceSet, canonical_split, load_dataset, load_fer2013, load_fer2013_csv
from emoscope.errors import DatasetError
from emoscope.labels import FER2013_CLASSES

FOLDERS = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
CANON = {"angry": "anger", "disgust": "disgust", "fear": "fear", "happy": "happiness", "neutral": "neutral",
         "sad": "sadness", "surprise": "surprise"}  # fmt: skip
# images per class folder, for each (sub folder, file prefix)
COUNTS = {
    ("train", "Training"): dict(zip(FOLDERS, (3, 1, 2, 4, 2, 3, 1), strict=True)),
    ("test", "PublicTest"): dict(zip(FOLDERS, (1, 1, 2, 1, 0, 1, 2), strict=True)),
    ("test", "PrivateTest"): dict(zip(FOLDERS, (2, 0, 1, 1, 1, 1, 3), strict=True)),
}
SPLIT_KEY = {"train": ("train", "Training"), "val": ("test", "PublicTest"), "test": ("test", "PrivateTest")}


def build_fer2013_tree(root: Path, make_face, write_image) -> dict[str, str]:
    """Write the FER2013 folder layout; returns {path: class folder}."""
    written: dict[str, str] = {}
    n = 0
    for (sub, prefix), counts in COUNTS.items():
        for folder in FOLDERS:
            (root / sub / folder).mkdir(parents=True, exist_ok=True)
            for _ in range(counts[folder]):
                p = write_image(root / sub / folder / f"{prefix}_{n}.jpg", make_face())
                written[str(p)] = folder
                n += 1
    return written


@pytest.fixture
def fer_root(tmp_path: Path, make_face, write_image) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "fer2013"
    return root, build_fer2013_tree(root, make_face, write_image)


def _expected_counts(split: str) -> dict[str, int]:
    return {CANON[f]: n for f, n in COUNTS[SPLIT_KEY[split]].items()}


# ------------------------------------------------------------------------------------------ folder layout


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_folder_split_counts_labels_and_pixels(fer_root, split: str) -> None:
    root, written = fer_root
    fs = load_fer2013(root, split)
    assert isinstance(fs, FaceSet)
    assert fs.classes == FER2013_CLASSES
    expected = _expected_counts(split)
    assert len(fs) == sum(expected.values())
    assert fs.class_counts() == {c: expected[c] for c in FER2013_CLASSES}
    assert fs.images.shape == (len(fs), 48, 48) and fs.images.dtype == np.uint8
    assert fs.labels.dtype == np.int64 and len(fs.labels) == len(fs.paths) == len(fs)
    assert fs.votes is None and fs.errors == []
    prefix = SPLIT_KEY[split][1] + "_"
    assert fs.name == f"fer2013/{SPLIT_KEY[split][1]}"
    for img, lab, p in zip(fs.images, fs.labels, fs.paths, strict=True):
        assert Path(p).name.startswith(prefix)
        assert fs.classes[lab] == CANON[written[p]] == CANON[Path(p).parent.name]
        np.testing.assert_array_equal(img, cv2.imread(p, cv2.IMREAD_GRAYSCALE))


def test_folder_labels_follow_fer2013_class_order(fer_root) -> None:
    root, _ = fer_root
    fs = load_fer2013(root, "train")
    # FER2013 order: anger 0, disgust 1, fear 2, happiness 3, sadness 4, surprise 5, neutral 6
    by_folder = {Path(p).parent.name: int(lab) for p, lab in zip(fs.paths, fs.labels, strict=True)}
    assert by_folder == {"angry": 0, "disgust": 1, "fear": 2, "happy": 3, "sad": 4, "surprise": 5, "neutral": 6}


def test_public_and_private_are_disjoint(fer_root) -> None:
    root, written = fer_root
    val, test, train = (set(load_fer2013(root, s).paths) for s in ("val", "test", "train"))
    assert not val & test and not val & train and not test & train
    assert val | test | train == set(written)


@pytest.mark.parametrize(
    ("alias", "split"),
    [("Training", "train"), ("TRAIN ", "train"), ("training", "train"), ("PublicTest", "val"), ("valid", "val"),
     ("validation", "val"), ("VAL", "val"), ("PrivateTest", "test"), ("test", "test"), ("FER2013Test", "test")],
)  # fmt: skip
def test_split_aliases(fer_root, alias: str, split: str) -> None:
    root, _ = fer_root
    assert canonical_split(alias) == split
    assert load_fer2013(root, alias).paths == load_fer2013(root, split).paths


@pytest.mark.parametrize("bad", ["dev", "", "PublicTest2", "tests"])
def test_unknown_split(fer_root, bad: str) -> None:
    root, _ = fer_root
    with pytest.raises(DatasetError, match="unknown split") as info:
        load_fer2013(root, bad)
    assert repr(bad) in str(info.value)
    with pytest.raises(DatasetError, match="unknown split"):
        canonical_split(bad)


def test_other_sizes_are_resized_to_48(tmp_path: Path, fer_root, make_face, write_image) -> None:
    root, _ = fer_root
    p = write_image(root / "test" / "happy" / "PublicTest_big.png", make_face(96))
    q = write_image(root / "test" / "happy" / "PublicTest_small.png", make_face(24))
    colour = np.dstack([make_face(48)] * 3)
    r = write_image(root / "test" / "happy" / "PublicTest_colour.png", colour)
    fs = load_fer2013(root, "val")
    for f in (p, q, r):
        i = fs.paths.index(str(f))
        assert fs.images[i].shape == (48, 48)
        assert fs.classes[fs.labels[i]] == "happiness"
    np.testing.assert_array_equal(fs.images[fs.paths.index(str(r))], colour[:, :, 0])


def test_non_image_files_are_ignored(fer_root) -> None:
    root, _ = fer_root
    before = load_fer2013(root, "val").paths
    (root / "test" / "happy" / "PublicTest_notes.txt").write_text("hello")
    (root / "test" / "happy" / "Thumbs.db").write_bytes(b"\0" * 10)
    (root / "test" / "happy" / "PublicTest_sub").mkdir()
    assert load_fer2013(root, "val").paths == before


def test_load_dataset_dispatch_fer2013(fer_root) -> None:
    root, _ = fer_root
    a = load_dataset("fer2013", str(root), "PublicTest")
    b = load_fer2013(root, "val")
    assert a.paths == b.paths and a.classes == FER2013_CLASSES
    np.testing.assert_array_equal(a.images, b.images)


# ---------------------------------------------------------------------------------- folder layout: errors


def test_wrong_path(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_fer"
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_fer2013(missing, "train")
    assert str(missing) in str(info.value)


def test_missing_test_folder(fer_root) -> None:
    root, _ = fer_root
    shutil.rmtree(root / "test")
    with pytest.raises(DatasetError, match=r"test/ is missing") as info:
        load_fer2013(root, "PrivateTest")
    assert str(root) in str(info.value)
    assert len(load_fer2013(root, "train")) == sum(COUNTS[("train", "Training")].values())


def test_missing_class_folder(fer_root) -> None:
    root, _ = fer_root
    shutil.rmtree(root / "train" / "disgust")
    with pytest.raises(DatasetError, match="missing class folder for 'disgust'") as info:
        load_fer2013(root, "train")
    assert str(root / "train") in str(info.value)


def test_no_files_with_prefix(tmp_path: Path, make_face, write_image) -> None:
    root = tmp_path / "fer"
    for f in FOLDERS:
        write_image(root / "test" / f / f"PublicTest_{f}.jpg", make_face())
    assert len(load_fer2013(root, "val")) == 7
    with pytest.raises(DatasetError, match="no image files found starting with 'PrivateTest_'"):
        load_fer2013(root, "test")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\x00garbage bytes, not a jpeg" * 4, "not an image"), (b"", "empty")],
)
def test_unreadable_image(fer_root, content: bytes, problem: str) -> None:
    root, written = fer_root
    bad = root / "test" / "fear" / "PublicTest_bad.jpg"
    bad.write_bytes(content)
    with pytest.raises(DatasetError, match=problem) as info:
        load_fer2013(root, "val")
    assert str(bad) in str(info.value)
    fs = load_fer2013(root, "val", skip_bad=True)
    assert len(fs) == sum(_expected_counts("val").values())
    assert str(bad) not in fs.paths
    assert len(fs.errors) == 1
    where, why = fs.errors[0]
    assert where == str(bad) and problem in why
    assert fs.class_counts() == {c: _expected_counts("val")[c] for c in FER2013_CLASSES}
    for lab, p in zip(fs.labels, fs.paths, strict=True):  # labels still aligned with the files after the skip
        assert fs.classes[lab] == CANON[written[p]]


def test_truncated_jpeg_in_dataset_is_an_error(fer_root) -> None:
    root, _ = fer_root
    victim = next((root / "test" / "fear").glob("PublicTest_*.jpg"))
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated") as info:
        load_fer2013(root, "val")
    assert str(victim) in str(info.value)
    fs = load_fer2013(root, "val", skip_bad=True)
    assert [w for w, _ in fs.errors] == [str(victim)]
    assert len(fs) == sum(_expected_counts("val").values()) - 1


def test_jpeg_with_trailing_bytes_still_loads(fer_root) -> None:
    root, _ = fer_root
    victim = next((root / "test" / "fear").glob("PublicTest_*.jpg"))
    expected = cv2.imread(str(victim), cv2.IMREAD_GRAYSCALE)
    victim.write_bytes(victim.read_bytes() + b"\0\0\0\0")
    fs = load_fer2013(root, "val")
    np.testing.assert_array_equal(fs.images[fs.paths.index(str(victim))], expected)


# ------------------------------------------------------------------------------------------- fer2013.csv


def _pixels(img: np.ndarray) -> str:
    return " ".join(str(int(v)) for v in img.ravel())


def write_fer_csv(path: Path, rows: list[list[str]], header: str = "emotion,pixels,Usage") -> Path:
    with open(path, "w", newline="") as f:
        f.write(header + "\n")
        csv.writer(f).writerows(rows)
    return path


@pytest.fixture
def fer_csv(tmp_path: Path, make_face) -> tuple[Path, list[tuple[int, np.ndarray, str]]]:
    usages = ["Training"] * 6 + ["PublicTest"] * 4 + ["PrivateTest"] * 3 + ["Training", "PublicTest"]
    rows = [(k % 7, make_face(), u) for k, u in enumerate(usages)]
    path = write_fer_csv(tmp_path / "fer2013.csv", [[str(e), _pixels(im), u] for e, im, u in rows])
    return path, rows


@pytest.mark.parametrize(("split", "usage"), [("train", "Training"), ("val", "PublicTest"), ("test", "PrivateTest")])
def test_csv_split_rows_labels_and_pixels(fer_csv, split: str, usage: str) -> None:
    path, rows = fer_csv
    want = [(i, e, im) for i, (e, im, u) in enumerate(rows) if u == usage]
    for fs in (load_fer2013_csv(path, split), load_fer2013(path, usage), load_fer2013_csv(path, usage)):
        assert fs.classes == FER2013_CLASSES
        assert len(fs) == len(want)
        assert fs.name == f"fer2013/{usage}"
        assert fs.images.shape == (len(want), 48, 48) and fs.images.dtype == np.uint8
        assert fs.labels.tolist() == [e for _, e, _ in want]
        assert fs.paths == [f"{path}:{i + 2}" for i, _, _ in want]
        for img, (_, _, src) in zip(fs.images, want, strict=True):
            np.testing.assert_array_equal(img, src)


def test_csv_all_rows(fer_csv) -> None:
    path, rows = fer_csv
    fs = load_fer2013_csv(path)
    assert len(fs) == len(rows) and fs.name == "fer2013/all"
    np.testing.assert_array_equal(fs.images, np.stack([im for _, im, _ in rows]))
    assert fs.labels.tolist() == [e for e, _, _ in rows]
    counts = fs.class_counts()
    assert list(counts) == list(FER2013_CLASSES) and sum(counts.values()) == len(rows)


def test_csv_pixel_extremes(tmp_path: Path) -> None:
    img = np.zeros((48, 48), np.uint8)
    img[0, 0], img[47, 47] = 255, 128
    path = write_fer_csv(tmp_path / "f.csv", [["6", _pixels(img), "PrivateTest"]])
    fs = load_fer2013(path, "test")
    np.testing.assert_array_equal(fs.images[0], img)
    assert fs.classes[fs.labels[0]] == "neutral"


def test_load_dataset_dispatch_csv(fer_csv) -> None:
    path, _ = fer_csv
    assert load_dataset("fer2013", str(path), "val").paths == load_fer2013_csv(path, "val").paths


def test_csv_missing(tmp_path: Path) -> None:
    for call in (lambda p: load_fer2013(p, "train"), lambda p: load_fer2013_csv(p, "train")):
        p = tmp_path / "absent" / "fer2013.csv"
        with pytest.raises(DatasetError, match="does not exist") as info:
            call(p)
        assert str(p) in str(info.value)


@pytest.mark.parametrize("header", ["label,pixels,Usage", "pixels,emotion,Usage", "emotion,pixels", ""])
def test_csv_bad_header(tmp_path: Path, make_face, header: str) -> None:
    p = write_fer_csv(tmp_path / "fer2013.csv", [["0", _pixels(make_face()), "Training"]], header=header)
    with pytest.raises(DatasetError, match="header") as info:
        load_fer2013_csv(p, "train")
    assert str(p) in str(info.value)


def test_csv_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "fer2013.csv"
    p.write_text("")
    with pytest.raises(DatasetError, match="header"):
        load_fer2013(p, "train")


def test_csv_header_is_case_insensitive(tmp_path: Path, make_face) -> None:
    p = write_fer_csv(tmp_path / "f.csv", [["2", _pixels(make_face()), "Training"]], header="Emotion,Pixels,usage")
    assert load_fer2013_csv(p, "train").labels.tolist() == [2]


def _bad_rows(face: np.ndarray) -> dict[str, tuple[list[str], str]]:
    px = _pixels(face)
    return {
        "two columns": ([str(3), px], "has 2 columns"),
        "2303 pixels": (["3", " ".join(px.split()[:-1]), "Training"], "2303 values"),
        "2305 pixels": (["3", px + " 7", "Training"], "2305 values"),
        "no pixels": (["3", "", "Training"], "0 values"),
        "emotion 9": (["9", px, "Training"], "emotion 9 is not in 0..6"),
        "emotion -1": (["-1", px, "Training"], "emotion -1"),
        "emotion text": (["happy", px, "Training"], "malformed row"),
        "pixel text": (["3", "abc" + px[px.index(" "):], "Training"], "malformed row"),
        "pixel 256": (["3", "256" + px[px.index(" "):], "Training"], "0..255"),
    }  # fmt: skip


@pytest.mark.parametrize("case", list(_bad_rows(np.zeros((48, 48), np.uint8))))
def test_csv_malformed_row(tmp_path: Path, make_face, case: str) -> None:
    good = [["0", _pixels(make_face()), "Training"], ["5", _pixels(make_face()), "Training"]]
    bad, problem = _bad_rows(make_face())[case]
    p = write_fer_csv(tmp_path / "fer2013.csv", [good[0], bad, good[1]])
    with pytest.raises(DatasetError) as info:
        load_fer2013_csv(p, "train")
    msg = str(info.value)
    assert f"{p}:3" in msg and "malformed row" in msg and problem in msg
    fs = load_fer2013_csv(p, "train", skip_bad=True)
    assert fs.labels.tolist() == [0, 5]
    assert fs.paths == [f"{p}:2", f"{p}:4"]
    assert len(fs.errors) == 1
    where, why = fs.errors[0]
    assert where == f"{p}:3" and problem in why


def test_csv_no_rows_for_split(tmp_path: Path, make_face) -> None:
    p = write_fer_csv(tmp_path / "fer2013.csv", [["0", _pixels(make_face()), "Training"]])
    with pytest.raises(DatasetError, match="no rows with Usage=PrivateTest") as info:
        load_fer2013_csv(p, "test")
    assert str(p) in str(info.value)


def test_csv_unknown_split(fer_csv) -> None:
    path, _ = fer_csv
    with pytest.raises(DatasetError, match="unknown split 'holdout'"):
        load_fer2013_csv(path, "holdout")
