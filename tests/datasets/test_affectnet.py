"""AffectNet-format CSV loader on generated pictures: labels, skipped rows, both crop paths, clear errors."""

import numpy as np
import pytest
from synthetic_affect import HEADER, write_affectnet_csv

from emoscope.datasets.affectnet import AFFECTNET_CLASSES, load_affectnet
from emoscope.errors import DatasetError


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("affectnet")
    return write_affectnet_csv(root, "training.csv", 12, seed=3, no_va_rows=2)


def test_loads_faces_and_labels_and_skips_rows_without_valence_arousal(data):
    s = load_affectnet(data)
    assert len(s) == 12 and s.no_va == 2 and s.errors == []
    assert s.images.shape == (12, 48, 48) and s.images.dtype == np.uint8
    assert s.va.shape == (12, 2) and (np.abs(s.va) <= 1).all()
    lines = data.read_text().splitlines()[1:13]
    assert s.valence[0] == pytest.approx(float(lines[0].rsplit(",", 2)[1]))
    assert ((s.expression >= 0) & (s.expression < len(AFFECTNET_CLASSES))).all()
    assert s.name == "affectnet/training.csv" and s.paths[0].endswith(".jpg")


def test_landmark_alignment_and_box_crop_give_the_same_framing(data):
    s = load_affectnet(data)
    # even rows have landmarks (eyes at the template inside the box), odd rows only the box: both crops show the face
    # without the grey (128) border of the picture around it
    for img in s.images[:4]:
        border = np.concatenate([img[0], img[-1], img[:, 0], img[:, -1]]).astype(float)
        assert abs(border.mean() - 128) > 15
    # the same picture cut both ways
    from synthetic_affect import BOX, _landmarks

    from emoscope.datasets.affectnet import _crop_face
    from emoscope.input.images import read_image

    pic = read_image(s.paths[0], grey=True)
    lm = np.array([float(v) for v in _landmarks().split(";")]).reshape(68, 2)
    a = _crop_face(pic, BOX, lm).astype(float)
    b = _crop_face(pic, BOX, None).astype(float)
    assert np.abs(a - b).mean() < 4


def test_limit_is_a_seeded_subset(data):
    a, b = load_affectnet(data, limit=5, seed=1), load_affectnet(data, limit=5, seed=1)
    assert len(a) == 5 and a.paths == b.paths
    assert load_affectnet(data, limit=5, seed=2).paths != a.paths


def test_errors_name_the_file_and_row(data, tmp_path):
    bad = tmp_path / "bad.csv"
    lines = data.read_text().splitlines()
    bad.write_text(
        "\n".join([lines[0], lines[1].replace(lines[1].split(",")[1], "x", 1), *lines[2:5]]) + "\n"
    )
    with pytest.raises(DatasetError, match=r"bad.csv:2: malformed row"):
        load_affectnet(bad, data.parent)
    s = load_affectnet(bad, data.parent, skip_bad=True)
    assert len(s) == 3 and s.errors[0][0].endswith("bad.csv:2")

    missing = tmp_path / "missing.csv"
    missing.write_text(HEADER + '\nnope/none.jpg,0,0,10,10,"",1,0.5,0.5\n' + lines[1] + "\n")
    with pytest.raises(DatasetError, match=r"missing.csv:2: .*none.jpg: file does not exist"):
        load_affectnet(missing, data.parent)
    assert len(load_affectnet(missing, data.parent, skip_bad=True)) == 1

    (tmp_path / "nohdr.csv").write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DatasetError, match="header lacks"):
        load_affectnet(tmp_path / "nohdr.csv")
    with pytest.raises(DatasetError, match="does not exist"):
        load_affectnet(tmp_path / "absent.csv")
