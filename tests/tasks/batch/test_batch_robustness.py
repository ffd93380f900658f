"""Batch jobs that meet damaged part files, empty inputs, partly read videos and another job's folder."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from batch_collection import FMT

from emoscope.cli import main
from emoscope.errors import EmoscopeError
from emoscope.tasks.batch import read_manifest, read_results, run_batch

FORMATS = ["jsonl"] + (["parquet"] if FMT == "parquet" else [])


def _small_job(collection: Path, tmp_path: Path) -> Path:
    """A list of three inputs of the collection (two photos and the video)."""
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{collection / k}\n" for k in ("img3.png", "clip.avi", "two_faces.png")))
    return lst


def _part_of(out: Path, key_end: str) -> Path:
    key = next(k for k in read_manifest(out) if k.endswith(key_end))
    return out / "parts" / read_manifest(out)[key]["part"]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("damage", ["cut", "row_lost"])
def test_damaged_part_is_redone_before_the_merge(collection, tmp_path, capsys, fmt, damage):
    lst, out = _small_job(collection, tmp_path), tmp_path / "res"
    assert run_batch(lst, out, fmt=fmt).complete
    before = read_results(out)
    assert len(before) == 13  # 1 + 10 video frames + 2
    part = _part_of(out, "clip.avi")
    if damage == "cut":
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    elif fmt == "jsonl":  # a whole line gone: every line still parses
        part.write_bytes(b"".join(part.read_bytes().splitlines(keepends=True)[1:]))
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        pq.write_table(pq.read_table(part).slice(1), part)
    (out / f"results.{fmt}").unlink()
    assert main(["batch", str(lst), "--out", str(out), "--format", fmt, "--quiet"]) == 0
    cap = capsys.readouterr()
    assert f"{part}: damaged part file" in cap.err and "analysed again" in cap.err
    assert "1 analysed" in cap.out and "Traceback" not in cap.err
    pd.testing.assert_frame_equal(read_results(out), before)
    if fmt == "jsonl":
        lines = (out / "results.jsonl").read_text().splitlines()
        assert len(lines) == 13 and all(isinstance(json.loads(x), dict) for x in lines)


def test_part_still_damaged_after_its_redo_refuses_the_merge(collection, tmp_path, capsys, monkeypatch):
    import emoscope.tasks.batch.run as run_mod

    lst, out = _small_job(collection, tmp_path), tmp_path / "res"
    assert run_batch(lst, out, fmt="jsonl").complete
    final = out / "results.jsonl"
    kept = final.read_bytes()
    part = _part_of(out, "clip.avi")
    part.write_bytes(part.read_bytes()[:-5])
    real = run_mod.write_part

    def write_damaged(df, path, fmt, columns):  # a disk that damages what is written
        real(df, path, fmt, columns)
        Path(path).write_bytes(Path(path).read_bytes()[:-5])

    monkeypatch.setattr(run_mod, "write_part", write_damaged)
    with pytest.raises(EmoscopeError, match="still damaged") as e:
        run_batch(lst, out, fmt="jsonl")
    assert str(part) in str(e.value)
    assert final.read_bytes() == kept  # the previous results are untouched
    assert main(["batch", str(lst), "--out", str(out), "--format", "jsonl", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"emoscope: error: {part}: damaged part file" in err and "Traceback" not in err
    with pytest.raises(EmoscopeError, match=str(part)):
        read_results(out, partial=True)


def test_empty_inputs_are_warned_about(collection, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an input")
    blank = tmp_path / "blank.txt"
    blank.write_text("# nothing yet\n\n")
    lst = tmp_path / "list.txt"
    lst.write_text(f"empty\n{collection / 'img3.png'}\n")
    s = run_batch(empty, tmp_path / "r1", fmt="jsonl")
    assert s.complete and s.total == 0 and len(s.warnings) == 1 and str(empty) in s.warnings[0]
    cases = [(empty, f"{empty}: folder contains no images or videos; 1 other files ignored"),
             (blank, f"{blank}: the list names no inputs"),
             (lst, f"{empty}: folder (listed in {lst}) contains no images or videos")]  # fmt: skip
    for i, (source, warning) in enumerate(cases):
        assert (
            main(["batch", str(source), "--out", str(tmp_path / f"c{i}"), "--format", "jsonl", "--quiet"])
            == 0
        )
        assert f"emoscope: warning: {warning}" in capsys.readouterr().err
    assert (
        main(["batch", str(collection), "--out", str(tmp_path / "c9"), "--format", "jsonl", "--quiet"]) == 0
    )
    assert "warning" not in capsys.readouterr().err


def test_partly_read_video_is_counted_in_the_summary(collection, tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    data = (collection / "clip.avi").read_bytes()
    (folder / "cut.avi").write_bytes(data[: int(len(data) * 0.6)])
    (folder / "whole.avi").write_bytes(data)
    s = run_batch(folder, tmp_path / "r0", fmt="jsonl")
    assert s.ok == 2 and s.partial == 1 and [k for k, _ in s.partial_list] == ["cut.avi"]
    assert "decoding stopped" in s.partial_list[0][1]
    assert main(["batch", str(folder), "--out", str(tmp_path / "r1"), "--format", "jsonl", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 ok (1 read only partly), 0 errors" in out
    assert "  read only partly: cut.avi: " in out and "whole.avi" not in out
    assert main(["batch", str(folder), "--out", str(tmp_path / "r2"), "--format", "jsonl", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["partial"] == 1


def test_another_head_names_the_option_that_differs(collection, tmp_path, capsys):
    lst = tmp_path / "list.txt"
    lst.write_text(f"{collection / 'img3.png'}\n")
    out = tmp_path / "res"
    assert main(["batch", str(lst), "--out", str(out), "--format", "jsonl", "--quiet"]) == 0
    capsys.readouterr()
    assert (
        main(["batch", str(lst), "--out", str(out), "--format", "jsonl", "--head", "fer2013", "--quiet"]) == 2
    )
    err = capsys.readouterr().err
    assert "--head ferplus (the default) there, fer2013 now" in err and "new --out" in err
    assert "same input and options" in err and "columns" not in err and "p_neutral" not in err
    assert len(err) < 400
