"""The MEGC2019 loader on a generated folder in the real layout, and (when present) on the real data."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic import MEGC_HEADER, normalise_flow_png, synthetic_flow, write_megc2019_folder

from emoscope.datasets import MicroSet, load_megc2019
from emoscope.datasets.megc2019 import CSV_NAME, FLOW_DIR, read_flow
from emoscope.errors import DatasetError
from emoscope.labels import MICRO_CLASSES

SUBJECTS = {"casme2": ["sub01", "sub02"], "samm": ["006"], "smic": ["s01", "sub01"]}


@pytest.fixture
def megc(tmp_path: Path) -> Path:
    return write_megc2019_folder(tmp_path / "megc2019", SUBJECTS, per_subject=4)


def _rewrite_csv(root: Path, edit) -> Path:
    csv_path = root / CSV_NAME
    lines = csv_path.read_text().splitlines()
    csv_path.write_text("\n".join(edit(lines)) + "\n")
    return csv_path


def test_loads_flow_labels_and_subjects_unique_across_sources(megc: Path) -> None:
    ds = load_megc2019(megc)
    assert isinstance(ds, MicroSet) and len(ds) == 5 * 4
    assert ds.flow.shape == (20, 3, 28, 28) and ds.flow.dtype == np.float32
    assert ds.flow.min() == 0.0 and ds.flow.max() == 1.0
    assert ds.labels.dtype == np.int64 and ds.classes == MICRO_CLASSES
    # "sub01" exists in casme2 and smic: two different subjects
    assert ds.subject_ids() == ["casme2/sub01", "casme2/sub02", "samm/006", "smic/s01", "smic/sub01"]
    assert ds.source_counts() == {"casme2": 8, "samm": 4, "smic": 8}
    assert ds.class_counts() == {"negative": 10, "positive": 5, "surprise": 5}
    assert ds.names[0] == "casme2/sub01/EP00_0f" and ds.paths[0].endswith("sub01_EP00_0f .png")
    assert ds.apex is None
    sub = ds.subset(ds.sources == "samm")
    assert len(sub) == 4 and set(sub.subjects) == {"samm/006"} and sub.flow.shape == (4, 3, 28, 28)


def test_channels_are_u_v_strain_not_opencv_bgr(tmp_path: Path) -> None:
    flow = synthetic_flow(1, np.random.default_rng(0))
    path = tmp_path / "f .png"
    cv2.imwrite(str(path), normalise_flow_png(flow))
    x = read_flow(path)
    for c in range(3):  # each loaded channel is the min-max normalised original channel c
        ch = flow[:, :, c]
        expect = (ch - ch.min()) / (ch.max() - ch.min())
        assert np.abs(x[c] - expect).max() < 1 / 255 + 1e-6, c
    # as a picture: red = u, green = v, blue = strain
    rgb = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert np.array_equal(rgb.transpose(2, 0, 1).astype(np.float32) / np.float32(255), x)


def test_apex_frames_grey_and_colour(megc: Path) -> None:
    grey = load_megc2019(megc, apex_size=16)
    assert grey.apex is not None and grey.apex.shape == (20, 16, 16) and grey.apex.dtype == np.uint8
    colour = load_megc2019(megc, apex_size=24, apex_colour=True)
    assert colour.apex is not None and colour.apex.shape == (20, 24, 24, 3)


def test_source_filter(megc: Path) -> None:
    ds = load_megc2019(megc, sources=["smic"])
    assert set(ds.sources) == {"smic"} and len(ds) == 8
    with pytest.raises(DatasetError, match="unknown source"):
        load_megc2019(megc, sources=["casme3"])


def test_missing_folder_csv_and_flow_dir_are_named(tmp_path: Path, megc: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_megc2019(tmp_path / "nope")
    (megc / CSV_NAME).rename(megc / "other.csv")
    with pytest.raises(DatasetError, match=CSV_NAME):
        load_megc2019(megc)
    (megc / "other.csv").rename(megc / CSV_NAME)
    (megc / FLOW_DIR).rename(megc / "flows")
    with pytest.raises(DatasetError, match=f"{FLOW_DIR}/ is missing"):
        load_megc2019(megc)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda ls: ["a,b,c", *ls[1:]], "header lacks column"),
        (lambda ls: [*ls[:3], "casme2,sub01,EPX,7,,x.jpg,", *ls[3:]], r":4: label '7' is not 0, 1 or 2"),
        (lambda ls: [*ls[:2], "casme2,sub01,EPX,one,,x.jpg,", *ls[2:]], r":3: label 'one'"),
        (lambda ls: [*ls, "casme3,sub01,EPX,0,,x.jpg,"], ":22: unknown dataset 'casme3'"),
        (lambda ls: [*ls, "casme2,,EPX,0,,x.jpg,"], ":22: malformed row: empty sub"),
        (lambda ls: [*ls, "casme2,sub01"], ":22: malformed row: 2 columns"),
        (lambda ls: [*ls, ls[1]], r":22: duplicate sample casme2/sub01/EP00_0f \(first at .*:2\)"),
        (lambda ls: [*ls, "samm,006,006_9_9,0,,x.jpg,"], r":22: flow image .*006_006_9_9 \.png is missing"),
    ],
)
def test_bad_rows_name_file_and_row(megc: Path, edit, message: str) -> None:
    csv_path = _rewrite_csv(megc, edit)
    with pytest.raises(DatasetError, match=message) as err:
        load_megc2019(megc)
    assert str(csv_path) in str(err.value)


def test_flow_named_without_the_space_gets_a_hint(megc: Path) -> None:
    f = megc / FLOW_DIR / "006_EP00_0f .png"
    f.rename(f.with_name("006_EP00_0f.png"))
    with pytest.raises(DatasetError, match="006_EP00_0f.png exists: the files must be named with a space"):
        load_megc2019(megc)


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (np.zeros((28, 28), np.uint8), "must have 3 channels"),
        (np.zeros((28, 28, 4), np.uint8), "must have 3 channels"),
        (np.zeros((32, 28, 3), np.uint8), "must be 28x28, it is 28x32"),
        (None, "not a readable image"),
    ],
)
def test_flow_image_of_the_wrong_layout_is_named(megc: Path, image, message: str) -> None:
    f = megc / FLOW_DIR / "sub02_EP01_1f .png"
    if image is None:
        f.write_bytes(b"\x89PNG broken")
    else:
        assert cv2.imwrite(str(f), image)
    with pytest.raises(DatasetError, match=message) as err:
        load_megc2019(megc)
    assert "sub02_EP01_1f .png" in str(err.value)


def test_missing_apex_image_is_named_only_when_apex_is_requested(megc: Path) -> None:
    (megc / "combined_datasets_whole" / "s01_s1_po_01.jpg").unlink()
    assert len(load_megc2019(megc)) == 20
    with pytest.raises(DatasetError, match="s01_s1_po_01.jpg: apex image is missing"):
        load_megc2019(megc, apex_size=16)


def test_empty_csv_is_an_error(megc: Path) -> None:
    (megc / CSV_NAME).write_text(MEGC_HEADER + "\n")
    with pytest.raises(DatasetError, match="no samples"):
        load_megc2019(megc)


# ------------------------------------------------------------------------------------------------ real data

REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "megc2019"


@pytest.mark.data
@pytest.mark.skipif(not (REAL / CSV_NAME).is_file(), reason=f"MEGC2019 not found at {REAL}")
def test_real_megc2019_counts_and_channel_order() -> None:
    ds = load_megc2019(REAL)
    assert len(ds) == 442 and len(ds.subject_ids()) == 68
    assert ds.class_counts() == {"negative": 250, "positive": 109, "surprise": 83}
    assert ds.source_counts() == {"casme2": 145, "samm": 133, "smic": 164}
    assert ds.flow.shape == (442, 3, 28, 28)
    u, v, strain = (ds.flow[:, c] for c in range(3))
    # strain is a magnitude: mostly small, right-skewed; u and v are signed flows centred mid-range
    assert np.median(strain) < 0.15 < np.median(u) and np.median(v) > 0.15

    def mirror_corr(ch: np.ndarray) -> float:
        c = ch - np.median(ch, axis=(1, 2), keepdims=True)
        m = c[:, :, ::-1]
        return float(np.mean([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(c, m, strict=True)]))

    # horizontal flow is left-right anti-symmetric on a face, vertical flow symmetric
    assert mirror_corr(u) < 0 < mirror_corr(v)
