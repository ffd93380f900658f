"""The raw CASME II / SAMM / SMIC-HS loaders on tiny generated trees in the real layouts (8x8 frames, coding
sheets written as CSV and as .xlsx), and every error they name."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from emoscope.datasets import (
    MicroClip,
    load_casme2,
    load_micro_clips,
    load_samm,
    load_smic,
    micro_label,
    read_frame,
    read_onset_apex,
)
from emoscope.datasets.micro_clips import CASME2_CODING, SAMM_CODING
from emoscope.errors import DatasetError
from emoscope.labels import MICRO_CLASSES

CASME_HEADER = [
    "Subject",
    "Filename",
    "OnsetFrame",
    "ApexFrame",
    "OffsetFrame",
    "Action Units",
    "Estimated Emotion",
]
CASME_ROWS: list[list[object]] = [
    [1, "EP02_01f", 8, 10, 12, "12", "happiness"],  # frames 8..12: sorted numerically, not as text
    [1, "EP03_02", 46, 47, 49, "4+7", "repression"],
    [2, "EP01_11f", 100, "/", 103, "1+2", "others"],  # apex not coded
]
CASME_FRAMES = {
    ("sub01", "EP02_01f"): range(8, 13),
    ("sub01", "EP03_02"): range(46, 50),
    ("sub02", "EP01_11f"): range(100, 104),
}

SAMM_TITLE: list[list[object]] = [["SAMM Micro FACS Codes"], ["Version 2, micro-movements only"], []]
SAMM_HEADER = [
    "Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame", "Duration", "Type",
    "Action Units", "Notes", "Estimated Emotion",
]  # fmt: skip
SAMM_ROWS: list[list[object]] = [
    [6, "006_1_2", 1, 5562, 5564, 5566, 5, "Micro - 1/2", "R12", "", "Happiness"],
    ["007", "007_3_1", 3, 98, 101, 102, 5, "Micro - 1/2", "4+7", "blink", "Anger"],
    [7, "007_5_3", 5, 1000, 1001, 1002, 3, "Micro - 1/2", "1+2", "", "Other"],
]
SAMM_FRAMES = {
    ("006", "006_1_2"): range(5562, 5567),
    ("007", "007_3_1"): range(98, 103),
    ("007", "007_5_3"): range(1000, 1003),
}


def grey_value(number: int) -> int:
    """The constant grey level of frame ``number`` in the fixtures (survives JPEG: a flat 8x8 block)."""
    return (number * 7) % 200 + 20


def write_frames(folder: Path, names: Sequence[str], numbers: Sequence[int]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in zip(names, numbers, strict=True):
        assert cv2.imwrite(str(folder / name), np.full((8, 8), grey_value(n), np.uint8)), folder / name


def write_sheet(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    """A coding sheet: ``.csv`` with the csv module, ``.xlsx`` with openpyxl (numbers stay numbers)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        with open(path, "w", newline="") as f:
            csv.writer(f).writerows(rows)
    else:
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        sheet = book.active
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                sheet.cell(row=r, column=c, value=value)
        book.save(path)
    return path


def make_casme(base: Path, *, prefix: str = "img", sheet: str | None = ".xlsx", rows=None) -> Path:
    """``base/CASME2_RAW/sub01/EP02_01f/img8.jpg ...``; the sheet beside CASME2_RAW, under its real name."""
    root = base / "CASME2_RAW"
    for (sub, clip), numbers in CASME_FRAMES.items():
        write_frames(root / sub / clip, [f"{prefix}{n}.jpg" for n in numbers], numbers)
    if sheet is not None:
        write_sheet(base / Path(CASME2_CODING).with_suffix(sheet), [CASME_HEADER, *(rows or CASME_ROWS)])
    return root


def make_samm(base: Path, *, sheet: str = ".xlsx", rows=None, title=SAMM_TITLE) -> Path:
    """``base/SAMM/006/006_1_2/006_05562.jpg ...`` and ``SAMM_Micro_FACS_Codes_v2`` (title rows, then header)."""
    root = base / "SAMM"
    for (sub, clip), numbers in SAMM_FRAMES.items():
        write_frames(root / sub / clip, [f"{sub}_{n:05d}.jpg" for n in numbers], numbers)
    write_sheet(root / Path(SAMM_CODING).with_suffix(sheet), [*title, SAMM_HEADER, *(rows or SAMM_ROWS)])
    return root


def make_smic(base: Path) -> Path:
    """``base/HS/s<N>/micro/<class>/<clip>/image<N>.bmp``; s3 has only non_micro clips."""
    root = base / "HS"
    clips = [
        ("s1", "negative", "s1_ne_01", range(643434, 643438)),
        ("s1", "positive", "s1_po_01", range(99, 102)),  # 99 < 100 < 101: numeric order
        ("s10", "negative", "s10_ne_02", range(5, 8)),
        ("s2", "surprise", "s2_sur_01", range(20, 24)),
    ]
    for sub, cls, clip, numbers in clips:
        write_frames(root / sub / "micro" / cls / clip, [f"image{n:07d}.bmp" for n in numbers], numbers)
    write_frames(root / "s3" / "non_micro" / "s3_x_01", ["image0000001.bmp", "image0000002.bmp"], [1, 2])
    return root


# ------------------------------------------------------------------------------------------------ CASME II


def test_casme2_from_xlsx_found_beside_the_frames(tmp_path: Path) -> None:
    root = make_casme(tmp_path)
    clips = load_casme2(root)
    assert [c.name for c in clips] == [
        "casme2/sub01/EP02_01f",
        "casme2/sub01/EP03_02",
        "casme2/sub02/EP01_11f",
    ]
    assert [c.subject for c in clips] == ["casme2/sub01", "casme2/sub01", "casme2/sub02"]
    assert {c.source for c in clips} == {"casme2"}
    first = clips[0]
    assert isinstance(first, MicroClip) and len(first) == 5
    assert first.frame_numbers == (8, 9, 10, 11, 12)
    assert [Path(p).name for p in first.frames] == [
        "img8.jpg",
        "img9.jpg",
        "img10.jpg",
        "img11.jpg",
        "img12.jpg",
    ]
    assert first.folder == str(root / "sub01" / "EP02_01f")
    assert (first.onset, first.apex, first.offset) == (8, 10, 12)
    assert first.frame_path(10).endswith("img10.jpg") and first.action_units == "12"
    assert first.where == f"{tmp_path / CASME2_CODING}:2"
    assert [c.emotion for c in clips] == ["happiness", "repression", "others"]
    assert [c.label for c in clips] == [MICRO_CLASSES.index("positive"), MICRO_CLASSES.index("negative"), -1]
    assert [c.has_label for c in clips] == [True, True, False]
    assert clips[2].apex is None and clips[2].where.endswith(":4")


def test_casme2_cropped_frames_and_csv_sheet(tmp_path: Path) -> None:
    root = make_casme(tmp_path, prefix="reg_img", sheet=None)
    sheet = write_sheet(tmp_path / "coding.csv", [CASME_HEADER, *CASME_ROWS])
    clips = load_casme2(root, coding=sheet)
    assert [c.frame_numbers for c in clips] == [tuple(r) for r in CASME_FRAMES.values()]
    assert Path(clips[1].frames[0]).name == "reg_img46.jpg"
    assert clips[2].apex is None and clips[0].where == f"{sheet}:2"
    # the same clips as from the .xlsx, apart from where they were read
    make_casme(tmp_path / "x", prefix="reg_img")
    from_xlsx = load_casme2(tmp_path / "x" / "CASME2_RAW")
    assert [(c.name, c.onset, c.apex, c.offset, c.label) for c in clips] == [
        (c.name, c.onset, c.apex, c.offset, c.label) for c in from_xlsx
    ]


def test_casme2_csv_default_name_and_text_cells(tmp_path: Path) -> None:
    """Subjects written as ``01`` / ``sub02``, frames as ``46.0``: the same clips."""
    rows = [
        [" 01", "EP02_01f ", "8.0", "10", "12", "AU 12,\nleft side", "Happiness"],  # a cell over two lines
        ["sub02", "EP01_11f", 100, "", 103, "", "fear"],
    ]
    root = make_casme(tmp_path, sheet=".csv", rows=rows)
    clips = load_casme2(root)
    assert [c.name for c in clips] == ["casme2/sub01/EP02_01f", "casme2/sub02/EP01_11f"]
    assert clips[0].onset == 8 and clips[1].apex is None and [c.label for c in clips] == [1, 0]
    assert clips[0].action_units == "AU 12,\nleft side" and clips[1].where.endswith(".csv:3")


# ------------------------------------------------------------------------------------------------ SAMM


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_samm_header_after_title_rows(tmp_path: Path, suffix: str) -> None:
    root = make_samm(tmp_path, sheet=suffix)
    clips = load_samm(root)
    assert [c.name for c in clips] == ["samm/006/006_1_2", "samm/007/007_3_1", "samm/007/007_5_3"]
    assert [c.subject for c in clips] == ["samm/006", "samm/007", "samm/007"]
    assert clips[0].frame_numbers == tuple(range(5562, 5567))
    assert Path(clips[0].frames[0]).name == "006_05562.jpg"
    assert clips[1].frame_numbers == (98, 99, 100, 101, 102)  # 00098 .. 00102
    assert (clips[1].onset, clips[1].apex, clips[1].offset) == (98, 101, 102)
    assert [c.emotion for c in clips] == ["Happiness", "Anger", "Other"]
    assert [c.label for c in clips] == [1, 0, -1]
    assert clips[1].action_units == "4+7"
    sheet = root / Path(SAMM_CODING).with_suffix(suffix)
    assert clips[0].where == f"{sheet}:5"  # 3 title rows, the header on row 4


def test_samm_header_on_a_later_sheet_of_the_workbook(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    root = make_samm(tmp_path)
    path = root / SAMM_CODING
    book = openpyxl.load_workbook(path)
    book.active.title = "FACS"
    info = book.create_sheet("Info", 0)
    info.append(["Subject", "Filename", "just an index"])
    book.save(path)
    assert [c.name for c in load_samm(root)] == ["samm/006/006_1_2", "samm/007/007_3_1", "samm/007/007_5_3"]


# ------------------------------------------------------------------------------------------------ SMIC-HS


def test_smic_labels_from_folders_no_apex(tmp_path: Path) -> None:
    clips = load_smic(make_smic(tmp_path))
    assert [c.name for c in clips] == [
        "smic/s1/s1_ne_01",
        "smic/s1/s1_po_01",
        "smic/s2/s2_sur_01",
        "smic/s10/s10_ne_02",
    ]
    assert [c.subject for c in clips] == ["smic/s1", "smic/s1", "smic/s2", "smic/s10"]
    assert [c.emotion for c in clips] == ["negative", "positive", "surprise", "negative"]
    assert [c.label for c in clips] == [0, 1, 2, 0]
    ne = clips[0]
    assert ne.frame_numbers == (643434, 643435, 643436, 643437)
    assert (ne.onset, ne.apex, ne.offset) == (643434, None, 643437)
    assert Path(ne.frames[0]).name == "image0643434.bmp" and ne.where == ne.folder
    assert clips[1].frame_numbers == (99, 100, 101)
    assert ne.apex_or_middle() == 643436


def test_load_micro_clips_dispatches_on_source(tmp_path: Path) -> None:
    casme = make_casme(tmp_path / "c")
    samm = make_samm(tmp_path / "s")
    smic = make_smic(tmp_path / "h")
    assert [c.name for c in load_micro_clips("casme2", casme)] == [c.name for c in load_casme2(casme)]
    assert len(load_micro_clips("CASME_II", casme, tmp_path / "c" / CASME2_CODING)) == 3
    assert {c.source for c in load_micro_clips("samm", samm)} == {"samm"}
    assert len(load_micro_clips("SMIC-HS", smic)) == 4
    with pytest.raises(DatasetError, match="unknown micro-expression source 'casme3'"):
        load_micro_clips("casme3", casme)
    with pytest.raises(DatasetError, match="SMIC-HS has no coding sheet"):
        load_micro_clips("smic", smic, coding=tmp_path / "c" / CASME2_CODING)


@pytest.mark.parametrize(
    ("emotion", "label"),
    [
        *[(e, 0) for e in ("repression", "anger", "Contempt", "disgust", "fear", "sadness", "Sad ", "negative")],
        ("happiness", 1), ("Happy", 1), ("positive", 1),
        ("surprise", 2), ("Surprise", 2),
        ("others", -1), ("Other", -1), ("neutral", -1), ("", -1),
    ],
)  # fmt: skip
def test_micro_label_groups_emotions_as_megc2019(emotion: str, label: int) -> None:
    assert micro_label(emotion) == label


# ------------------------------------------------------------------------------------------------ images


def test_read_onset_apex_frames(tmp_path: Path) -> None:
    clip = load_casme2(make_casme(tmp_path))[0]  # onset 8, apex 10
    onset, apex = read_onset_apex(clip)
    assert onset.shape == (8, 8) and onset.dtype == np.uint8
    assert abs(int(onset.mean()) - grey_value(8)) <= 2 and abs(int(apex.mean()) - grey_value(10)) <= 2
    onset_c, apex_c = read_onset_apex(clip, size=16, colour=True)
    assert onset_c.shape == (16, 16, 3) and apex_c.shape == (16, 16, 3)
    assert abs(int(apex_c.mean()) - grey_value(10)) <= 2
    assert read_frame(clip.frames[-1], size=4).shape == (4, 4)


def test_read_frame_colour_is_rgb(tmp_path: Path) -> None:
    bgr = np.zeros((6, 10, 3), np.uint8)
    bgr[:, :, 2] = 200  # red in OpenCV's BGR order
    path = tmp_path / "red.png"
    assert cv2.imwrite(str(path), bgr)
    rgb = read_frame(path, colour=True)
    assert rgb.shape == (6, 10, 3) and rgb[0, 0].tolist() == [200, 0, 0]
    assert read_frame(path).shape == (6, 10)


def test_read_onset_apex_without_apex(tmp_path: Path) -> None:
    clip = load_smic(make_smic(tmp_path))[0]
    with pytest.raises(DatasetError, match=r"smic/s1/s1_ne_01 .*no apex frame; pass missing_apex='middle'"):
        read_onset_apex(clip)
    onset, apex = read_onset_apex(clip, missing_apex="middle")
    assert int(onset.mean()) == grey_value(643434) and int(apex.mean()) == grey_value(643436)  # BMP: exact


def test_unreadable_frame_is_named(tmp_path: Path) -> None:
    clip = load_casme2(make_casme(tmp_path))[0]
    Path(clip.frame_path(10)).write_bytes(b"\xff\xd8 not a jpeg")
    with pytest.raises(
        DatasetError, match=r"casme2/sub01/EP02_01f .*:2\): unreadable frame .*img10\.jpg"
    ) as err:
        read_onset_apex(clip)
    assert "EP02_01f" in str(err.value)
    Path(clip.frame_path(8)).unlink()
    with pytest.raises(DatasetError, match=r"img8\.jpg: file does not exist"):
        read_onset_apex(clip)


def test_frames_of_different_sizes_need_size(tmp_path: Path) -> None:
    clip = load_casme2(make_casme(tmp_path))[0]
    cv2.imwrite(clip.frame_path(10), np.zeros((8, 12), np.uint8))
    with pytest.raises(DatasetError, match="is 8x8 but apex frame .*img10.jpg is 12x8; pass size="):
        read_onset_apex(clip)
    assert read_onset_apex(clip, size=8)[1].shape == (8, 8)
    with pytest.raises(
        DatasetError, match=r"frame 99 is not one of the clip's frames \(8\.\.12 in .*EP02_01f\)"
    ):
        clip.frame_path(99)


# ------------------------------------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("load", "what"), [(load_casme2, "CASME II"), (load_samm, "SAMM"), (load_smic, "SMIC-HS")]
)
def test_missing_root_is_named(tmp_path: Path, load, what: str) -> None:
    with pytest.raises(DatasetError, match=f"nope: {what} folder does not exist"):
        load(tmp_path / "nope")


def test_missing_sheet_is_named(tmp_path: Path) -> None:
    root = make_casme(tmp_path, sheet=None)
    with pytest.raises(
        DatasetError, match=rf"CASME II coding sheet {CASME2_CODING} not found .*pass coding=PATH"
    ):
        load_casme2(root)
    with pytest.raises(DatasetError, match=r"other\.xlsx: CASME II coding sheet does not exist"):
        load_casme2(root, coding=tmp_path / "other.xlsx")
    samm = make_samm(tmp_path)
    (samm / SAMM_CODING).unlink()
    with pytest.raises(DatasetError, match=f"SAMM coding sheet {SAMM_CODING} not found"):
        load_samm(samm)


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_missing_columns_are_named(tmp_path: Path, suffix: str) -> None:
    header = [h for h in CASME_HEADER if h != "ApexFrame"]
    root = make_casme(tmp_path, sheet=None)
    sheet = write_sheet(tmp_path / f"coding{suffix}", [header, *[r[:3] + r[4:] for r in CASME_ROWS]])
    with pytest.raises(
        DatasetError,
        match=r"no header row .* the closest, row 1 of sheet .* lacks column\(s\) \['ApexFrame'\]",
    ) as err:
        load_casme2(root, coding=sheet)
    assert str(sheet) in str(err.value)
    samm = make_samm(tmp_path / "s", title=[["no table here"]], rows=[["x"]])
    (samm / SAMM_CODING).unlink()
    write_sheet(samm / "codes.csv", [["just", "notes"], ["1", "2"]])
    with pytest.raises(
        DatasetError, match=r"codes\.csv: no header row with the columns Subject, Filename, Onset Frame"
    ):
        load_samm(samm, coding=samm / "codes.csv")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ([3, "EP09_09", 1, 2, 3, "", "fear"], r":4: clip folder .*sub03[/\\]EP09_09 is missing"),
        (
            [1, "EP02_01f", 7, 10, 12, "", "fear"],
            r":4: onset frame 7 is outside the clip's frames \(.*EP02_01f: frames 8\.\.12, 5 files\)",
        ),
        ([1, "EP02_01f", 8, 10, 13, "", "fear"], r":4: offset frame 13 is outside the clip's frames"),
        ([1, "EP02_01f", 8, 12, 10, "", "fear"], r":4: frames out of order: onset 8, apex 12, offset 10"),
        ([1, "EP02_01f", 12, None, 8, "", "fear"], r":4: frames out of order: onset 12, apex None, offset 8"),
        ([1, "EP02_01f", 10, 10, 10, "", "fear"], r":4: frames out of order"),
        ([1, "EP02_01f", "eight", 10, 12, "", "fear"], r":4: onset frame 'eight' is not a frame number"),
        ([1, "EP02_01f", 8, 10, None, "", "fear"], r":4: offset frame '\(empty\)' is not a frame number"),
        ([1, "EP02_01f", 8.5, 10, 12, "", "fear"], r":4: onset frame '8.5' is not a frame number"),
        (["A", "EP02_01f", 8, 10, 12, "", "fear"], r":4: subject 'A' is not a subject number"),
        ([1, None, 8, 10, 12, "", "fear"], r":4: empty Filename"),
        (CASME_ROWS[1], r":4: duplicate clip casme2/sub01/EP03_02 \(first at .*:2\)"),
    ],
)
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_bad_rows_name_file_and_row(tmp_path: Path, suffix: str, row: list[object], message: str) -> None:
    root = make_casme(tmp_path, sheet=suffix, rows=[*CASME_ROWS[1:], row])
    sheet = tmp_path / Path(CASME2_CODING).with_suffix(suffix)
    with pytest.raises(DatasetError, match=message) as err:
        load_casme2(root)
    assert str(err.value).startswith(f"{sheet}:4: ")
    # with an errors list the bad row is recorded and skipped, the good ones kept
    errors: list[tuple[str, str]] = []
    clips = load_casme2(root, errors=errors)
    assert len(clips) == 2 and len(errors) == 1 and errors[0][0] == f"{sheet}:4"


def test_frame_missing_inside_the_clip_is_named(tmp_path: Path) -> None:
    root = make_casme(tmp_path)
    (root / "sub01" / "EP02_01f" / "img10.jpg").unlink()  # the apex
    with pytest.raises(
        DatasetError,
        match=r"\.xlsx:2: apex frame 10 is missing from the clip's frames \(.*EP02_01f: frames 8\.\.12, 4 files\)",
    ):
        load_casme2(root)


def test_samm_bad_row_names_its_sheet_row(tmp_path: Path) -> None:
    rows = [*SAMM_ROWS, [6, "006_1_2", 1, 5560, 5564, 5566, 5, "Micro", "", "", "Fear"]]
    root = make_samm(tmp_path, rows=rows)
    with pytest.raises(
        DatasetError, match=r"SAMM_Micro_FACS_Codes_v2\.xlsx:8: duplicate clip samm/006/006_1_2"
    ):
        load_samm(root)
    rows[-1][1] = "006_1_9"
    root = make_samm(tmp_path / "b", rows=rows)
    with pytest.raises(DatasetError, match=r"\.xlsx:8: clip folder .*006[/\\]006_1_9 is missing"):
        load_samm(root)


def test_clip_folder_without_frames_or_with_two_frames_of_one_number(tmp_path: Path) -> None:
    root = make_casme(tmp_path)
    folder = root / "sub02" / "EP01_11f"
    for f in folder.iterdir():
        f.rename(f.with_suffix(".txt"))
    with pytest.raises(
        DatasetError, match=r":4: clip folder .*EP01_11f holds no frames named like img46\.jpg"
    ):
        load_casme2(root)
    root = make_casme(tmp_path / "b")
    write_frames(root / "sub01" / "EP03_02", ["reg_img47.jpg"], [47])
    with pytest.raises(
        DatasetError, match=r":3: .*img47\.jpg and reg_img47\.jpg have the same frame number 47"
    ):
        load_casme2(root)


def test_unrelated_files_in_a_clip_folder_are_ignored(tmp_path: Path) -> None:
    root = make_casme(tmp_path)
    folder = root / "sub01" / "EP02_01f"
    (folder / "Thumbs.db").write_bytes(b"x")
    (folder / ".DS_Store").write_bytes(b"x")
    write_frames(folder, ["preview.jpg"], [0])
    assert load_casme2(root)[0].frame_numbers == (8, 9, 10, 11, 12)


def test_empty_sheet_is_an_error(tmp_path: Path) -> None:
    root = make_casme(tmp_path, sheet=".csv", rows=[["", "", "", "", "", "", ""]])
    with pytest.raises(DatasetError, match=r"CASME2-coding-20140508\.csv: no clips below the header row"):
        load_casme2(root)


def test_xlsx_without_openpyxl_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_casme(tmp_path)
    monkeypatch.setitem(sys.modules, "openpyxl", None)  # import openpyxl -> ImportError
    with pytest.raises(
        DatasetError, match=r"needs openpyxl: pip install openpyxl .* save the sheet as CSV"
    ) as err:
        load_casme2(root)
    assert str(tmp_path / CASME2_CODING) in str(err.value)


def test_broken_or_unsupported_sheet_files(tmp_path: Path) -> None:
    pytest.importorskip("openpyxl")
    root = make_casme(tmp_path, sheet=None)
    (tmp_path / CASME2_CODING).write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError, match=rf"{CASME2_CODING}: not a readable \.xlsx workbook"):
        load_casme2(root)
    xls = tmp_path / "coding.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(
        DatasetError, match=r"coding\.xls: unsupported coding sheet format \.xls; use \.xlsx or \.csv"
    ):
        load_casme2(root, coding=xls)


def test_smic_errors(tmp_path: Path) -> None:
    root = make_smic(tmp_path)
    write_frames(
        root / "s2" / "micro" / "others" / "s2_ot_01", ["image0000001.bmp", "image0000002.bmp"], [1, 2]
    )
    with pytest.raises(DatasetError, match=r"micro[/\\]others: unknown SMIC class folder 'others'"):
        load_smic(root)
    errors: list[tuple[str, str]] = []
    assert len(load_smic(root, errors=errors)) == 4 and len(errors) == 1
    root = make_smic(tmp_path / "b")
    (root / "s1" / "micro" / "surprise" / "s1_sur_09").mkdir(parents=True)
    with pytest.raises(DatasetError, match=r"s1_sur_09 holds no frames named like image0643434\.bmp"):
        load_smic(root)
    empty = tmp_path / "empty"
    (empty / "s1" / "non_micro").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no SMIC-HS clips"):
        load_smic(empty)
