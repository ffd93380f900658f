"""Tests of the generic <root>/<class>/<image> loader and of FaceSet."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emoscope.datasets import FaceSet, load_dataset, load_folder
from emoscope.errors import DatasetError


@pytest.fixture
def tree(tmp_path: Path, make_face, write_image) -> tuple[Path, dict[str, list[str]]]:
    """root/{happy: 3 png, sad: 2 jpg, surprised: 1 png} (48x48 grey)."""
    root = tmp_path / "faces"
    files: dict[str, list[str]] = {}
    for cls, n, suffix in (("happy", 3, ".png"), ("sad", 2, ".jpg"), ("surprised", 1, ".png")):
        files[cls] = [str(write_image(root / cls / f"{cls}_{k}{suffix}", make_face())) for k in range(n)]
    return root, files


def test_classes_from_sorted_folder_names(tree) -> None:
    root, files = tree
    fs = load_folder(root)
    assert fs.classes == ("happy", "sad", "surprised")
    assert fs.name == "faces"
    assert fs.labels.tolist() == [0, 0, 0, 1, 1, 2]
    assert fs.paths == files["happy"] + files["sad"] + files["surprised"]
    assert fs.class_counts() == {"happy": 3, "sad": 2, "surprised": 1}
    assert fs.images.shape == (6, 48, 48) and fs.images.dtype == np.uint8
    assert fs.votes is None and fs.errors == []
    for img, p in zip(fs.images, fs.paths, strict=True):
        np.testing.assert_array_equal(img, cv2.imread(p, cv2.IMREAD_GRAYSCALE))


def test_given_classes_with_aliases_set_the_order(tree) -> None:
    root, files = tree
    fs = load_folder(root, ("surprise", "sadness", "happiness"))
    assert fs.classes == ("surprise", "sadness", "happiness")
    assert fs.paths == files["surprised"] + files["sad"] + files["happy"]
    assert fs.labels.tolist() == [0, 1, 1, 2, 2, 2]
    assert fs.class_counts() == {"surprise": 1, "sadness": 2, "happiness": 3}


def test_given_subset_of_classes_ignores_other_folders(tree) -> None:
    root, files = tree
    fs = load_folder(root, ("sad",))
    assert fs.classes == ("sad",) and fs.paths == files["sad"]


def test_missing_class_folder(tree) -> None:
    root, _ = tree
    with pytest.raises(DatasetError, match="missing class folder for 'anger'") as info:
        load_folder(root, ("happiness", "anger"))
    msg = str(info.value)
    assert str(root) in msg and "happy" in msg  # names the folders it did find


def test_name_filter(tree, make_face, write_image) -> None:
    root, files = tree
    fs = load_folder(root, name_filter="sad_")
    assert fs.paths == files["sad"] and fs.classes == ("happy", "sad", "surprised")
    assert fs.class_counts() == {"happy": 0, "sad": 2, "surprised": 0}
    with pytest.raises(DatasetError, match="no image files found starting with 'angry_'"):
        load_folder(root, name_filter="angry_")


def test_only_image_suffixes_and_case(tree, make_face, write_image) -> None:
    root, files = tree
    (root / "happy" / "readme.txt").write_text("not an image")
    (root / "happy" / ".DS_Store").write_bytes(b"\0\1\2")
    (root / "happy" / "nested").mkdir()
    upper = write_image(root / "happy" / "zz_UPPER.PNG", make_face())
    bmp = write_image(root / "sad" / "x.bmp", make_face())
    fs = load_folder(root)
    assert fs.paths == [*files["happy"], str(upper), *files["sad"], str(bmp), *files["surprised"]]


def test_other_sizes_and_colour_become_48_grey(tmp_path: Path, make_face, write_image) -> None:
    root = tmp_path / "r"
    big = make_face(100)
    write_image(root / "a" / "big.png", big)
    write_image(root / "a" / "small.png", make_face(20))
    write_image(root / "a" / "wide.png", np.hstack([make_face(30), make_face(30)]))
    colour = np.dstack([make_face(48), make_face(48), make_face(48)])
    write_image(root / "b" / "colour.png", colour)
    fs = load_folder(root)
    assert fs.images.shape == (4, 48, 48)
    ref = cv2.resize(big.astype(np.float32), (48, 48), interpolation=cv2.INTER_AREA)
    np.testing.assert_array_equal(fs.images[0], np.rint(ref).astype(np.uint8))
    np.testing.assert_array_equal(fs.images[3], cv2.cvtColor(colour, cv2.COLOR_BGR2GRAY))


def test_training_faces_are_the_faces_inference_sees(tmp_path: Path, make_face, write_image) -> None:
    """Training reads every file through the inference path: read_image, then prepare_face (to the grey level)."""
    from PIL import Image

    from emoscope.faces.preprocess import prepare_face
    from emoscope.input.images import read_image

    root = tmp_path / "r" / "a"
    face = make_face(96)
    write_image(root / "grey.png", face)
    write_image(root / "grey.jpg", face)
    write_image(root / "colour.jpg", np.dstack([face, np.roll(face, 5, 0), np.roll(face, 9, 1)]))
    bgra = np.dstack([face, face, face, np.where(np.arange(96) < 20, 0, 255).astype(np.uint8)[None].repeat(96, 0)])
    write_image(root / "alpha.png", bgra)
    write_image(root / "deep.png", face.astype(np.uint16) * 257)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the picture is stored rotated by 90 degrees
    Image.fromarray(np.ascontiguousarray(face[:, :60])).save(root / "rotated.jpg", exif=exif.tobytes())
    fs = load_folder(tmp_path / "r")
    assert len(fs) == 6
    for path, got in zip(fs.paths, fs.images, strict=True):
        want = np.rint(prepare_face(read_image(path))).astype(np.uint8)
        np.testing.assert_array_equal(got, want, err_msg=path)
    rotated = read_image(root / "rotated.jpg", grey=True)
    assert rotated.shape == (60, 96)  # EXIF orientation honoured, as in a photo given to `emoscope predict`


def test_wrong_path(tmp_path: Path) -> None:
    p = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="does not exist") as info:
        load_folder(p)
    assert str(p) in str(info.value)


def test_path_is_a_file(tmp_path: Path) -> None:
    p = tmp_path / "file.jpg"
    p.write_bytes(b"x")
    with pytest.raises(DatasetError, match="not a folder") as info:
        load_folder(p)
    assert str(p) in str(info.value)


def test_no_class_folders(tmp_path: Path) -> None:
    (tmp_path / "loose.png").write_bytes(b"x")
    with pytest.raises(DatasetError, match="no class folders") as info:
        load_folder(tmp_path)
    assert str(tmp_path) in str(info.value)


def test_class_folders_without_images(tmp_path: Path) -> None:
    (tmp_path / "happy").mkdir()
    (tmp_path / "happy" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="no image files found"):
        load_folder(tmp_path)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"\x89PNG but not really" * 3, "not an image"), (b"", "empty (0 bytes)"),
     ("truncated", "corrupt or truncated")],
)  # fmt: skip
def test_unreadable_image_and_skip_bad(tree, rng: np.random.Generator, content, problem: str) -> None:
    root, files = tree
    bad = root / "sad" / "sad_0b.png"
    if content == "truncated":
        ok, enc = cv2.imencode(".png", rng.integers(0, 256, (48, 48), dtype=np.uint8))
        content = enc.tobytes()[: len(enc) // 2]
    bad.write_bytes(content)
    with pytest.raises(DatasetError, match="unreadable image") as info:
        load_folder(root)
    assert str(bad) in str(info.value) and problem in str(info.value)
    fs = load_folder(root, skip_bad=True)
    assert fs.paths == files["happy"] + files["sad"] + files["surprised"]
    assert fs.labels.tolist() == [0, 0, 0, 1, 1, 2]  # labels stay aligned after the skipped file
    assert len(fs.errors) == 1 and fs.errors[0][0] == str(bad) and problem in fs.errors[0][1]


def test_all_images_bad_with_skip_bad(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(b"junk")
    fs = load_folder(tmp_path, skip_bad=True)
    assert len(fs) == 0 and fs.images.shape == (0, 48, 48) and fs.labels.shape == (0,)
    assert [w for w, _ in fs.errors] == [str(tmp_path / "a" / "x.jpg")]
    assert fs.class_counts() == {"a": 0}


def test_load_dataset_folder_ignores_split(tree) -> None:
    root, _ = tree
    a = load_dataset("folder", str(root), "whatever")
    assert a.paths == load_folder(root).paths


def test_faceset_subset_and_counts(tree) -> None:
    root, _ = tree
    fs = load_folder(root)
    fs.labels[1] = -1  # an image without a hard label is not counted
    assert len(fs) == 6
    assert fs.class_counts() == {"happy": 2, "sad": 2, "surprised": 1}
    sub = fs.subset(np.array([5, 3]))
    assert isinstance(sub, FaceSet) and len(sub) == 2
    assert sub.paths == [fs.paths[5], fs.paths[3]] and sub.labels.tolist() == [2, 1]
    np.testing.assert_array_equal(sub.images, fs.images[[5, 3]])
    assert sub.votes is None and sub.classes == fs.classes and sub.name == fs.name
    mask = fs.labels == 0
    assert fs.subset(mask).paths == [fs.paths[0], fs.paths[2]]
    assert len(fs.subset([])) == 0
    sub.labels[0] = 0  # a subset is a copy: the parent is unchanged
    assert fs.labels[5] == 2
