"""Tests of the FER+ loaders on tiny fake datasets: official folders + label.csv, fer2013new.csv with images from
the folders or from a row-aligned fer2013.csv; majority labels, vote distributions, match_images."""

from __future__ import annotations

import csv
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest

from emoscope.datasets import (
    FaceSet,
    load_dataset,
    load_ferplus,
    load_ferplus_csv,
    majority_labels,
    match_images,
    official_majority_labels,
    vote_distribution,
)
from emoscope.errors import DatasetError
from emoscope.labels import FERPLUS_CLASSES, FERPLUS_VOTE_COLUMNS

NEW_HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF"
BOX = "(0, 0, 48, 48)"
FOLDER = {"Training": "FER2013Train", "PublicTest": "FER2013Valid", "PrivateTest": "FER2013Test"}

# vote rows (neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF) -> majority label
VOTES: list[tuple[list[int], int]] = [
    ([7, 1, 0, 0, 0, 0, 0, 0, 2, 0], 0),  # neutral
    ([0, 9, 1, 0, 0, 0, 0, 0, 0, 0], 1),  # happiness
    ([0, 0, 4, 4, 0, 0, 0, 0, 2, 0], 2),  # tie surprise / sadness -> first in column order
    ([1, 0, 0, 6, 3, 0, 0, 0, 0, 0], 3),  # sadness
    ([0, 0, 0, 0, 5, 4, 1, 0, 0, 0], 4),  # anger
    ([0, 0, 0, 1, 2, 7, 0, 0, 0, 0], 5),  # disgust
    ([0, 0, 3, 0, 0, 0, 7, 0, 0, 0], 6),  # fear
    ([2, 0, 0, 0, 0, 0, 0, 8, 0, 0], 7),  # contempt
    ([1, 0, 0, 0, 0, 0, 0, 0, 8, 1], -1),  # unknown majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 1, 9], -1),  # not-a-face majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], -1),  # no votes at all
    ([3, 0, 0, 0, 0, 0, 0, 0, 3, 4], -1),  # NF on top
    ([4, 0, 0, 0, 0, 0, 0, 0, 4, 2], 0),  # tie neutral / unknown -> neutral (first)
]


@dataclass
class Row:
    """One row of fer2013.csv / fer2013new.csv."""

    index: int  # data row index (0-based) in both CSV files
    usage: str
    name: str  # "" = not a face
    votes: list[int]
    label: int
    image: np.ndarray


@dataclass
class FakeFerPlus:
    root: Path
    new_csv: Path
    fer_csv: Path
    rows: list[Row]

    def faces(self, usage: str) -> list[Row]:
        return [r for r in self.rows if r.usage == usage and r.name]


# usage -> list of (vote row id, is a face); fer2013.csv order: Training, then PublicTest, then PrivateTest
PLAN = {
    "Training": [(0, True), (1, True), (9, False), (3, True), (7, True)],
    "PublicTest": [(k, True) for k in range(len(VOTES))] + [(10, False), (9, False)],
    "PrivateTest": [(2, True), (9, False), (8, True), (4, True)],
}


def build_ferplus(tmp_path: Path, make_face) -> FakeFerPlus:
    root = tmp_path / "ferplus"
    rows: list[Row] = []
    for usage, plan in PLAN.items():
        for vote_id, is_face in plan:
            i = len(rows)
            votes, label = VOTES[vote_id]
            rows.append(Row(i, usage, f"fer{i:07d}.png" if is_face else "", votes, label, make_face()))
    # the official folders, one label.csv each (no header), only the face rows
    for usage, folder in FOLDER.items():
        (root / folder).mkdir(parents=True)
        with open(root / folder / "label.csv", "w", newline="") as f:
            w = csv.writer(f)
            for r in rows:
                if r.usage == usage and r.name:
                    assert cv2.imwrite(str(root / folder / r.name), r.image)
                    w.writerow([r.name, BOX, *r.votes])
    new_csv = root / "fer2013new.csv"
    with open(new_csv, "w", newline="") as f:
        f.write(NEW_HEADER + "\n")
        csv.writer(f).writerows([r.usage, r.name, *r.votes] for r in rows)
    fer_csv = tmp_path / "fer2013.csv"
    with open(fer_csv, "w", newline="") as f:
        f.write("emotion,pixels,Usage\n")
        csv.writer(f).writerows([i % 7, " ".join(map(str, r.image.ravel())), r.usage] for i, r in enumerate(rows))
    return FakeFerPlus(root, new_csv, fer_csv, rows)


@pytest.fixture
def fp(tmp_path: Path, make_face) -> FakeFerPlus:
    return build_ferplus(tmp_path, make_face)


def _check(fs: FaceSet, want: list[Row]) -> None:
    assert fs.classes == FERPLUS_CLASSES
    assert len(fs) == len(want) == len(fs.paths) == len(fs.labels)
    assert fs.images.shape == (len(want), 48, 48) and fs.images.dtype == np.uint8
    assert fs.labels.dtype == np.int64
    assert fs.labels.tolist() == [r.label for r in want]
    assert fs.votes is not None and fs.votes.shape == (len(want), 10) and fs.votes.dtype == np.float32
    np.testing.assert_array_equal(fs.votes, np.array([r.votes for r in want], np.float32))
    for img, r in zip(fs.images, want, strict=True):
        np.testing.assert_array_equal(img, r.image)  # PNG and fer2013.csv are both lossless


# ------------------------------------------------------------------------------------------- folder layout


@pytest.mark.parametrize("usage", list(FOLDER))
def test_folders_split(fp: FakeFerPlus, usage: str) -> None:
    fs = load_ferplus(fp.root, usage)
    want = fp.faces(usage)
    _check(fs, want)
    assert fs.paths == [str(fp.root / FOLDER[usage] / r.name) for r in want]
    assert fs.name == f"ferplus/{FOLDER[usage]}"
    assert fs.errors == []


@pytest.mark.parametrize(
    ("alias", "usage"),
    [("train", "Training"), ("Training", "Training"), ("val", "PublicTest"), ("valid", "PublicTest"),
     ("PublicTest", "PublicTest"), ("FER2013Valid", "PublicTest"), ("test", "PrivateTest"),
     ("PrivateTest", "PrivateTest"), ("FER2013Test", "PrivateTest")],
)  # fmt: skip
def test_split_aliases(fp: FakeFerPlus, alias: str, usage: str) -> None:
    assert load_ferplus(fp.root, alias).paths == [str(fp.root / FOLDER[usage] / r.name) for r in fp.faces(usage)]
    assert len(load_ferplus(fp.new_csv, alias)) == len(fp.faces(usage))


def test_unknown_split(fp: FakeFerPlus) -> None:
    for path in (fp.root, fp.new_csv):
        with pytest.raises(DatasetError, match="unknown split 'FER2013Dev'"):
            load_ferplus(path, "FER2013Dev")


def test_valid_majority_labels_and_class_counts(fp: FakeFerPlus) -> None:
    fs = load_ferplus(fp.root, "valid")
    assert fs.labels.tolist() == [lab for _, lab in VOTES]
    counts = fs.class_counts()
    assert list(counts) == list(FERPLUS_CLASSES)
    assert counts == {"neutral": 2, "happiness": 1, "surprise": 1, "sadness": 1, "anger": 1, "disgust": 1,
                      "fear": 1, "contempt": 1}  # fmt: skip
    assert sum(counts.values()) == int((fs.labels >= 0).sum()) == len(fs) - 4


def test_load_dataset_dispatch_ferplus(fp: FakeFerPlus) -> None:
    a = load_dataset("ferplus", str(fp.root), "test")
    b = load_ferplus(fp.root, "test")
    assert a.paths == b.paths and a.classes == FERPLUS_CLASSES
    np.testing.assert_array_equal(a.votes, b.votes)


def test_load_dataset_unknown_name(fp: FakeFerPlus) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'affectnet'"):
        load_dataset("affectnet", str(fp.root), "test")


# ---------------------------------------------------------------------------------------- fer2013new.csv


@pytest.mark.parametrize("usage", list(FOLDER))
def test_new_csv_with_folder_images(fp: FakeFerPlus, usage: str) -> None:
    fs = load_ferplus(fp.new_csv, usage)
    want = fp.faces(usage)
    _check(fs, want)  # rows with an empty image name (not faces) are skipped
    assert fs.paths == [str(fp.root / FOLDER[usage] / r.name) for r in want]
    assert fs.name == f"ferplus/{usage}"
    folders = load_ferplus(fp.root, usage)
    assert fs.paths == folders.paths
    np.testing.assert_array_equal(fs.images, folders.images)


@pytest.mark.parametrize("usage", list(FOLDER))
def test_new_csv_with_fer2013_csv_images(fp: FakeFerPlus, usage: str) -> None:
    shutil.rmtree(fp.root / FOLDER[usage])  # images must come from fer2013.csv, not from the folders
    for fs in (load_ferplus(fp.new_csv, usage, fer2013_csv=fp.fer_csv),
               load_ferplus_csv(fp.new_csv, usage, fer2013_csv=str(fp.fer_csv))):  # fmt: skip
        want = fp.faces(usage)
        _check(fs, want)  # row-aligned even though non-face rows are dropped in between
        assert fs.paths == [f"{fp.fer_csv}:{r.index + 2}" for r in want]


def test_new_csv_missing(tmp_path: Path) -> None:
    p = tmp_path / "fer2013new.csv"
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_ferplus(p, "val")
    assert str(p) in str(info.value)


@pytest.mark.parametrize(
    "header",
    ["Image name,Usage,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF",
     "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown",
     "fer0000000.png,(0 0 48 48),1,2,3,4,0,0,0,0,0,0", ""],
)  # fmt: skip
def test_new_csv_bad_header(fp: FakeFerPlus, header: str) -> None:
    lines = fp.new_csv.read_text().splitlines()
    fp.new_csv.write_text("\n".join([header, *lines[1:]]) + "\n" if header else "")
    with pytest.raises(DatasetError, match="header") as info:
        load_ferplus(fp.new_csv, "val")
    assert str(fp.new_csv) in str(info.value)


def _corrupt_new_csv_row(fp: FakeFerPlus, usage: str, new_row: list[str]) -> tuple[int, Row]:
    """Replace the first face row of ``usage`` in fer2013new.csv; returns its file line number and the row."""
    victim = fp.faces(usage)[0]
    with open(fp.new_csv, newline="") as f:
        lines = list(csv.reader(f))
    lines[victim.index + 1] = new_row
    with open(fp.new_csv, "w", newline="") as f:
        csv.writer(f).writerows(lines)
    return victim.index + 2, victim


@pytest.mark.parametrize(
    ("make_row", "problem"),
    [(lambda r: ["PublicTest", r.name, *map(str, r.votes[:9])], "has 11 columns, expected 12"),
     (lambda r: ["PublicTest", r.name, *map(str, r.votes), "0"], "has 13 columns"),
     (lambda r: ["PublicTest", r.name, "three", *map(str, r.votes[1:])], "three")],
)  # fmt: skip
def test_new_csv_malformed_row(fp: FakeFerPlus, make_row, problem: str) -> None:
    line, victim = _corrupt_new_csv_row(fp, "PublicTest", make_row(fp.faces("PublicTest")[0]))
    with pytest.raises(DatasetError) as info:
        load_ferplus(fp.new_csv, "val")
    msg = str(info.value)
    assert f"{fp.new_csv}:{line}" in msg and "malformed row" in msg and problem in msg
    fs = load_ferplus(fp.new_csv, "val", skip_bad=True)
    _check(fs, fp.faces("PublicTest")[1:])
    assert [w for w, _ in fs.errors] == [f"{fp.new_csv}:{line}"] and problem in fs.errors[0][1]
    fs = load_ferplus(fp.new_csv, "val", skip_bad=True, fer2013_csv=fp.fer_csv)  # alignment kept after a skip
    _check(fs, fp.faces("PublicTest")[1:])


def test_new_csv_without_images(fp: FakeFerPlus) -> None:
    shutil.rmtree(fp.root / "FER2013Test")
    with pytest.raises(DatasetError, match="images not found") as info:
        load_ferplus(fp.new_csv, "test")
    assert "FER2013Test" in str(info.value) and "fer2013_csv" in str(info.value)


def test_new_csv_no_rows_for_split(fp: FakeFerPlus) -> None:
    lines = fp.new_csv.read_text().splitlines()
    fp.new_csv.write_text("\n".join(ln for ln in lines if not ln.startswith("PrivateTest")) + "\n")
    with pytest.raises(DatasetError, match="no face rows with Usage=PrivateTest") as info:
        load_ferplus(fp.new_csv, "test")
    assert str(fp.new_csv) in str(info.value)


def test_new_csv_fer2013_csv_too_short(fp: FakeFerPlus) -> None:
    lines = fp.fer_csv.read_text().splitlines()
    fp.fer_csv.write_text("\n".join(lines[:-3]) + "\n")  # drop the last PrivateTest rows
    n = len(lines) - 1 - 3
    with pytest.raises(DatasetError, match=f"has {n} rows but") as info:
        load_ferplus(fp.new_csv, "test", fer2013_csv=fp.fer_csv)
    assert str(fp.fer_csv) in str(info.value) and str(fp.new_csv) in str(info.value)
    assert len(load_ferplus(fp.new_csv, "val", fer2013_csv=fp.fer_csv)) == len(fp.faces("PublicTest"))


def test_new_csv_unreadable_image_skip_bad(fp: FakeFerPlus) -> None:
    want = fp.faces("PublicTest")
    bad = fp.root / "FER2013Valid" / want[2].name
    bad.write_bytes(b"not a png at all")
    with pytest.raises(DatasetError, match="not an image") as info:
        load_ferplus(fp.new_csv, "val")
    assert str(bad) in str(info.value)
    fs = load_ferplus(fp.new_csv, "val", skip_bad=True)
    _check(fs, want[:2] + want[3:])  # votes and labels stay aligned with the images
    assert [w for w, _ in fs.errors] == [str(bad)]


# ---------------------------------------------------------------------------------- folder layout: errors


def test_wrong_root(tmp_path: Path) -> None:
    p = tmp_path / "FERPlus"
    with pytest.raises(DatasetError, match="FER\\+ folder does not exist") as info:
        load_ferplus(p, "train")
    assert str(p) in str(info.value)


def test_missing_split_folder(fp: FakeFerPlus) -> None:
    shutil.rmtree(fp.root / "FER2013Test")
    with pytest.raises(DatasetError, match="FER2013Test/label.csv is missing") as info:
        load_ferplus(fp.root, "test")
    assert str(fp.root) in str(info.value)
    assert len(load_ferplus(fp.root, "train")) == len(fp.faces("Training"))


def _rewrite_label_row(fp: FakeFerPlus, folder: str, row_no: int, row: list[str]) -> Path:
    label_csv = fp.root / folder / "label.csv"
    with open(label_csv, newline="") as f:
        rows = list(csv.reader(f))
    rows[row_no - 1] = row
    with open(label_csv, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    return label_csv


@pytest.mark.parametrize(
    ("make_row", "problem"),
    [(lambda r: [r.name, BOX, *map(str, r.votes[:9])], "has 11 columns, expected 12"),
     (lambda r: [r.name, *map(str, r.votes)], "has 11 columns"),
     (lambda r: [r.name, BOX, "x", *map(str, r.votes[1:])], "malformed row"),
     (lambda r: [r.name, BOX, "-1", *map(str, r.votes[1:])], "negative vote count")],
)  # fmt: skip
def test_label_csv_malformed_row(fp: FakeFerPlus, make_row, problem: str) -> None:
    want = fp.faces("PublicTest")
    label_csv = _rewrite_label_row(fp, "FER2013Valid", 2, make_row(want[1]))
    with pytest.raises(DatasetError) as info:
        load_ferplus(fp.root, "val")
    msg = str(info.value)
    assert f"{label_csv}:2" in msg and "malformed row" in msg and problem in msg
    fs = load_ferplus(fp.root, "val", skip_bad=True)
    _check(fs, want[:1] + want[2:])
    assert [w for w, _ in fs.errors] == [f"{label_csv}:2"] and problem in fs.errors[0][1]


def test_label_csv_empty(fp: FakeFerPlus) -> None:
    label_csv = fp.root / "FER2013Test" / "label.csv"
    label_csv.write_text("")
    with pytest.raises(DatasetError, match="no usable rows") as info:
        load_ferplus(fp.root, "test")
    assert str(label_csv) in str(info.value)


def test_label_csv_all_rows_bad_skip_bad(fp: FakeFerPlus) -> None:
    label_csv = fp.root / "FER2013Test" / "label.csv"
    label_csv.write_text("a,b\nc,d\n")
    with pytest.raises(DatasetError, match="no usable rows"):
        load_ferplus(fp.root, "test", skip_bad=True)


@pytest.mark.parametrize(("content", "problem"), [(b"garbage" * 20, "not an image"), (None, "does not exist")])
def test_folder_unreadable_image(fp: FakeFerPlus, content: bytes | None, problem: str) -> None:
    want = fp.faces("Training")
    bad = fp.root / "FER2013Train" / want[1].name
    if content is None:
        bad.unlink()
    else:
        bad.write_bytes(content)
    with pytest.raises(DatasetError, match=problem) as info:
        load_ferplus(fp.root, "train")
    assert str(bad) in str(info.value)
    fs = load_ferplus(fp.root, "train", skip_bad=True)
    _check(fs, want[:1] + want[2:])
    assert str(bad) not in fs.paths
    assert fs.errors == [(str(bad), fs.errors[0][1])] and problem in fs.errors[0][1]


def test_folder_truncated_png(fp: FakeFerPlus, rng: np.random.Generator) -> None:
    want = fp.faces("Training")
    bad = fp.root / "FER2013Train" / want[0].name
    ok, enc = cv2.imencode(".png", rng.integers(0, 256, (48, 48), dtype=np.uint8))
    bad.write_bytes(enc.tobytes()[: len(enc) // 2])
    with pytest.raises(DatasetError, match="corrupt or truncated") as info:
        load_ferplus(fp.root, "train")
    assert str(bad) in str(info.value)


# ------------------------------------------------------------------------------- majority / distribution


def test_majority_labels() -> None:
    votes = np.array([v for v, _ in VOTES], np.float32)
    lab = majority_labels(votes)
    assert lab.dtype == np.int64 and lab.tolist() == [x for _, x in VOTES]
    assert majority_labels(votes.astype(np.int64)).tolist() == lab.tolist()
    assert majority_labels(np.zeros((0, 10), np.float32)).shape == (0,)


# vote rows -> label under the FER+ authors' majority protocol (single votes dropped, more than half of the rest)
OFFICIAL: list[tuple[list[int], int]] = [
    ([7, 1, 0, 0, 0, 0, 0, 0, 2, 0], 0),  # 7 of the 9 votes left
    ([4, 1, 1, 1, 1, 1, 1, 0, 0, 0], 0),  # the six lone votes are outliers: 4 of 4
    ([4, 3, 3, 0, 0, 0, 0, 0, 0, 0], -1),  # plurality neutral, but 4 of 10 is no majority
    ([0, 0, 5, 5, 0, 0, 0, 0, 0, 0], -1),  # a tie is no majority
    ([0, 0, 0, 5, 4, 0, 0, 0, 0, 0], 3),  # 5 of 9
    ([0, 0, 0, 0, 0, 2, 0, 0, 0, 0], 5),  # two votes, both disgust
    ([0, 0, 0, 0, 0, 0, 0, 6, 4, 0], 7),  # contempt 6 of 10 beats unknown
    ([2, 0, 0, 0, 0, 0, 0, 0, 6, 2], -1),  # unknown holds the majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 1, 9], -1),  # not a face
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], -1),  # every vote alone: nothing left
    ([0] * 10, -1),
]


def test_official_majority_labels() -> None:
    votes = np.array([v for v, _ in OFFICIAL], np.float32)
    lab = official_majority_labels(votes)
    assert lab.dtype == np.int64 and lab.tolist() == [x for _, x in OFFICIAL]
    assert official_majority_labels(votes.astype(np.int64)).tolist() == lab.tolist()
    assert votes[2, 0] == 4  # the caller's array is not modified
    assert official_majority_labels(np.zeros((0, 10), np.float32)).shape == (0,)
    # never labels an image the plurality rule leaves out, and agrees with it wherever it labels
    plural = majority_labels(votes)
    assert np.all(plural[lab >= 0] == lab[lab >= 0])


def test_vote_columns() -> None:
    assert (*FERPLUS_CLASSES, "unknown", "NF") == FERPLUS_VOTE_COLUMNS
    assert NEW_HEADER.split(",")[2:] == list(FERPLUS_VOTE_COLUMNS)
    assert FERPLUS_CLASSES[:2] == ("neutral", "happiness") and FERPLUS_CLASSES[-1] == "contempt"


def test_vote_distribution() -> None:
    votes = np.array([[6, 2, 0, 0, 0, 0, 0, 0, 2, 0],  # unknown/NF votes are not part of the distribution
                      [0, 0, 0, 0, 0, 0, 0, 0, 3, 7],  # no emotion vote -> all zero
                      [0] * 10,
                      [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]], np.float32)  # fmt: skip
    d = vote_distribution(votes)
    assert d.shape == (4, 8) and d.dtype == np.float32
    np.testing.assert_allclose(d[0], [0.75, 0.25, 0, 0, 0, 0, 0, 0])
    assert (d[1] == 0).all() and (d[2] == 0).all()
    np.testing.assert_allclose(d[3], np.full(8, 1 / 8))
    assert not np.isnan(d).any()


def test_vote_distribution_of_loaded_set(fp: FakeFerPlus) -> None:
    fs = load_ferplus(fp.root, "val")
    d = vote_distribution(fs.votes)
    sums = d.sum(axis=1)
    has_emotion = fs.votes[:, :8].sum(axis=1) > 0
    np.testing.assert_allclose(sums[has_emotion], 1.0, rtol=1e-6)
    assert (sums[~has_emotion] == 0).all()
    # the majority label is the arg-max of the distribution wherever there is one
    ok = fs.labels >= 0
    assert (d[ok].argmax(axis=1) == fs.labels[ok]).all()


# -------------------------------------------------------------------------------------------- subset


def test_subset_mask_index_and_empty(fp: FakeFerPlus) -> None:
    fs = load_ferplus(fp.root, "val", skip_bad=True)
    fs.errors.append(("somewhere", "something"))
    hard = fs.subset(fs.labels >= 0)
    assert len(hard) == int((fs.labels >= 0).sum()) and (hard.labels >= 0).all()
    assert hard.classes == fs.classes and hard.name == fs.name
    assert hard.errors == fs.errors and hard.errors is not fs.errors
    keep = np.flatnonzero(fs.labels >= 0)
    assert hard.paths == [fs.paths[i] for i in keep]
    np.testing.assert_array_equal(hard.votes, fs.votes[keep])
    np.testing.assert_array_equal(hard.images, fs.images[keep])
    rev = fs.subset(np.arange(len(fs))[::-1])
    assert rev.paths == fs.paths[::-1] and rev.labels.tolist() == fs.labels.tolist()[::-1]
    assert fs.subset([2, 0]).paths == [fs.paths[2], fs.paths[0]]
    assert fs.subset([i == 1 for i in range(len(fs))]).paths == [fs.paths[1]]
    empty = fs.subset([])
    assert len(empty) == 0 and empty.images.shape == (0, 48, 48) and empty.votes.shape == (0, 10)
    assert empty.class_counts() == dict.fromkeys(FERPLUS_CLASSES, 0)
    assert len(fs.subset(np.zeros(len(fs), bool))) == 0


# ------------------------------------------------------------------------------------------ match_images


def _jpeg(img: np.ndarray, quality: int) -> np.ndarray:
    ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return cv2.imdecode(enc, cv2.IMREAD_GRAYSCALE)


def test_match_images_after_jpeg_and_shuffle(make_face, rng: np.random.Generator) -> None:
    b = np.stack([make_face() for _ in range(12)])  # e.g. the lossless FER+ PNGs
    perm = rng.permutation(len(b))
    a = np.stack([_jpeg(b[j], 75) for j in perm])  # the same pictures as FER2013 JPEGs, in another order
    assert not np.array_equal(a, b[perm])  # really re-encoded
    out = match_images(a, b)
    assert out.dtype == np.int64 and out.tolist() == perm.tolist()
    assert match_images(a, b, chunk=5).tolist() == perm.tolist()  # several chunks
    assert match_images(b, b).tolist() == list(range(len(b)))
    assert match_images(b, b, max_mean_abs_diff=0).tolist() == list(range(len(b)))


def test_match_images_unrelated_gives_minus_one(make_face) -> None:
    b = np.stack([make_face() for _ in range(8)])
    stranger = make_face()
    a = np.stack([b[3], stranger, _jpeg(b[5], 90), 255 - b[0]])
    assert match_images(a, b).tolist() == [3, -1, 5, -1]
    assert match_images(a, b, max_mean_abs_diff=1e9).tolist()[0] == 3


def test_match_images_folder_png_vs_fer2013_csv(fp: FakeFerPlus) -> None:
    folders = load_ferplus(fp.root, "val")
    from_csv = load_ferplus(fp.new_csv, "val", fer2013_csv=fp.fer_csv)
    order = np.arange(len(folders))[::-1]
    assert match_images(folders.images[order], from_csv.images).tolist() == order.tolist()
