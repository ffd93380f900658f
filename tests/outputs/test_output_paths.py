"""Output paths checked before any work, and write errors that name the target (never the temporary file)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from checks import raises_naming

from emoscope.errors import EmoscopeError
from emoscope.outputs.annotate import save_image_atomic
from emoscope.outputs.files import (
    OutputError,
    atomic_path,
    check_distinct_outputs,
    check_output_dir,
    check_output_path,
    write_csv_atomic,
)
from emoscope.outputs.plots import plot_confusion
from emoscope.outputs.video import AnnotatedVideoWriter

needs_proc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self").exists(), reason="needs Linux /proc"
)


def _raises(call, *words: str) -> OutputError:
    return raises_naming(OutputError, call, *words)


def test_output_error_is_an_emoscope_error_and_an_os_error():
    e = OutputError("x.csv", "is a folder")
    assert isinstance(e, EmoscopeError) and isinstance(e, OSError)
    assert str(e) == "x.csv: is a folder" and e.path == "x.csv"


def test_check_output_path_accepts_new_and_existing_files_and_creates_nothing(tmp_path):
    (tmp_path / "old.csv").write_text("old")
    assert check_output_path(tmp_path / "old.csv") == tmp_path / "old.csv"
    assert check_output_path(tmp_path / "new" / "sub" / "t.csv") == tmp_path / "new" / "sub" / "t.csv"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]  # no folder, no probe file left
    assert (tmp_path / "old.csv").read_text() == "old"


def test_check_output_path_refuses_a_folder_a_file_as_folder_and_a_device(tmp_path):
    (tmp_path / "outdir.csv").mkdir()
    (tmp_path / "good.jpg").write_bytes(b"x")
    _raises(lambda: check_output_path(tmp_path / "outdir.csv", "--csv"), "outdir.csv", "is a folder", "--csv")
    _raises(
        lambda: check_output_path(tmp_path / "good.jpg" / "x.csv"),
        "good.jpg/x.csv",
        "is a file, not a folder",
    )
    if Path("/dev/null").exists():
        _raises(lambda: check_output_path("/dev/null"), "/dev/null", "not a regular file")


@needs_proc
def test_check_output_path_refuses_a_folder_where_nothing_can_be_created():
    _raises(
        lambda: check_output_path("/proc/nope.avi"), "/proc/nope.avi", "cannot write into the folder /proc"
    )
    _raises(lambda: check_output_dir("/proc/nope"), "/proc/nope", "cannot write")


def test_check_output_dir(tmp_path):
    (tmp_path / "annfile.jpg").write_bytes(b"x")
    _raises(
        lambda: check_output_dir(tmp_path / "annfile.jpg", "--annotate"),
        "annfile.jpg",
        "is a file",
        "--annotate",
    )
    assert check_output_dir(tmp_path / "new" / "ann") == tmp_path / "new" / "ann"
    assert not (tmp_path / "new").exists()


def test_check_distinct_outputs(tmp_path):
    check_distinct_outputs({"--out": tmp_path / "a.avi", "--csv": tmp_path / "a.csv", "--plot": None})
    _raises(
        lambda: check_distinct_outputs(
            {"--out": tmp_path / "same.avi", "--csv": str(tmp_path / "x/../same.avi")}
        ),
        "same.avi",
        "--out",
        "--csv",
    )


def test_atomic_path_errors_name_the_target_not_the_temporary_file(tmp_path):
    import pandas as pd

    (tmp_path / "outdir.csv").mkdir()
    (tmp_path / "good.jpg").write_bytes(b"x")
    df = pd.DataFrame({"a": [1]})
    e = _raises(lambda: write_csv_atomic(df, tmp_path / "outdir.csv"), "outdir.csv", "folder")
    assert ".tmp" not in str(e)
    e = _raises(lambda: write_csv_atomic(df, tmp_path / "good.jpg" / "x.csv"), "good.jpg/x.csv")
    assert isinstance(e, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.jpg", "outdir.csv"]
    assert list((tmp_path / "outdir.csv").iterdir()) == []


@needs_proc
def test_atomic_path_names_the_target_when_the_temporary_file_cannot_be_created():
    def write():
        with atomic_path("/proc/nope.png") as tmp:
            tmp.write_bytes(b"x")

    e = _raises(write, "/proc/nope.png: cannot be written")
    assert ".tmp" not in str(e)


def test_plot_confusion_into_a_folder_is_a_clear_error(tmp_path):
    pytest.importorskip("matplotlib")
    (tmp_path / "emptydir").mkdir()
    _raises(lambda: plot_confusion([[1, 0], [0, 1]], ["a", "b"], tmp_path / "emptydir"), "emptydir", "folder")
    assert list((tmp_path / "emptydir").iterdir()) == []
    # a name without .png still gives a PNG (the format no longer comes from the temporary file's name)
    out = plot_confusion([[1, 0], [0, 1]], ["a", "b"], tmp_path / "cm")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and sorted(p.name for p in tmp_path.iterdir()) == [
        "cm",
        "emptydir",
    ]


def test_save_image_atomic_and_video_writer_name_the_target(tmp_path):
    (tmp_path / "f.jpg").write_bytes(b"x")
    img = np.zeros((8, 8, 3), np.uint8)
    _raises(
        lambda: save_image_atomic(img, tmp_path / "f.jpg" / "a.png"),
        "f.jpg/a.png",
        "cannot create its folder",
    )
    (tmp_path / "v.avi").mkdir()
    _raises(lambda: AnnotatedVideoWriter(tmp_path / "v.avi", 25.0, (8, 8)), "v.avi", "folder")
    _raises(lambda: AnnotatedVideoWriter(tmp_path / "f.jpg" / "v.avi", 25.0, (8, 8)), "f.jpg/v.avi")
