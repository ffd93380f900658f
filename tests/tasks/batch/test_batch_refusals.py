"""Batch jobs refuse what would hang or crash them, up front and in one line: special files (devices, FIFOs) as
inputs, Ray that cannot start, too many threads or workers, a non-finite --smooth, a foreign job.json."""

from __future__ import annotations

import json
import math
import os
import sys
import types
from pathlib import Path

import pytest
from batch_collection import FMT

from emoscope.cli import main
from emoscope.errors import EmoscopeError
from emoscope.tasks.batch import BatchSettings, RayEngine, Worker, collect_inputs, run_batch
from emoscope.tasks.batch.run import MAX_WORKERS, _check_job, _job_spec, max_local_workers
from emoscope.tasks.batch.worker import MAX_THREADS, _unnamed

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero here")


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _bare_worker() -> Worker:
    """A Worker without models: enough for inputs that are refused before they are read."""
    w = Worker.__new__(Worker)
    w.settings, w.analyzer, w.columns, w.loads, w.id = BatchSettings(), None, {}, 0, "test:0"
    return w


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("emoscope: error: "), err
    return lines[0]


# -- 1. special files -------------------------------------------------------------------------------------------


@needs_dev_zero
def test_device_as_the_job_input_is_refused_unread(tmp_path, capsys):
    with pytest.raises(EmoscopeError, match="/dev/zero: is a device, not a regular file"):
        collect_inputs("/dev/zero")
    assert main(["batch", "/dev/zero", "--out", str(tmp_path / "r"), "--format", "jsonl", "--quiet"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.count("/dev/zero") == 1 and "a folder" in line
    assert not (tmp_path / "r").exists()


@needs_fifo
def test_fifo_as_the_job_input_is_refused_unread(tmp_path):
    fifo = _fifo(tmp_path / "list.txt")
    with pytest.raises(EmoscopeError, match="is a FIFO"):
        collect_inputs(fifo)  # would block for ever in open() for a reader
    with pytest.raises(EmoscopeError, match="is a FIFO"):
        collect_inputs(_fifo(tmp_path / "clip.mp4"))


@needs_fifo
@needs_dev_zero
def test_listed_device_and_fifo_become_error_outcomes(tmp_path):
    fifo = _fifo(tmp_path / "pipe.jpg")
    lst = tmp_path / "list.txt"
    lst.write_text(f"/dev/zero\n{fifo}\n")
    walk = collect_inputs(lst)
    assert [it.key for it in walk.items] == ["/dev/zero", str(fifo)]
    w = _bare_worker()
    dev, pipe = (w.process(it) for it in walk.items)
    assert dev.status == "error" and dev.error == "is a device, not a regular file"
    assert pipe.status == "error" and pipe.error == "is a FIFO (named pipe), not a regular file"
    assert dev.rows is None and pipe.n_rows == 0


@needs_fifo
def test_fifo_in_an_input_folder_does_not_hang_the_walk_or_a_worker(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    _fifo(folder / "live.mp4")
    walk = collect_inputs(folder)
    assert [it.key for it in walk.items] == ["live.mp4"]
    out = _bare_worker().process(walk.items[0])
    assert out.status == "error" and "FIFO" in out.error


@needs_fifo
@needs_dev_zero
def test_cli_job_over_a_list_with_a_device_and_a_fifo_records_both(tmp_path, capsys):
    fifo = _fifo(tmp_path / "pipe.mp4")
    lst = tmp_path / "list.txt"
    lst.write_text(f"/dev/zero\n{fifo}\n")
    assert main(["batch", str(lst), "--out", str(tmp_path / "r"), "--format", "jsonl", "--quiet"]) == 1
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err
    assert "error: /dev/zero: is a device, not a regular file" in cap.out
    assert f"error: {fifo}: is a FIFO (named pipe), not a regular file" in cap.out
    records = [json.loads(ln) for ln in (tmp_path / "r" / "manifest.jsonl").read_text().splitlines()]
    assert sorted(r["status"] for r in records) == ["error", "error"]


# -- 2. Ray start-up --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "exc", "where"),
    [
        ("ray://127.0.0.1:1", ValueError("Ray Client requires pip package `ray[client]`. If you..."),
         "could not join the Ray cluster at ray://127.0.0.1:1: Ray Client requires pip package `ray[client]`"),
        (None, Exception("The current node timed out during startup. This could happen because ..."),
         "could not start Ray here: The current node timed out during startup"),
    ],
)  # fmt: skip
def test_ray_start_up_failure_is_a_job_error(monkeypatch, address, exc, where):
    calls = []

    def init(**kw):
        calls.append(kw)
        raise exc

    fake = types.ModuleType("ray")
    fake.is_initialized = lambda: False
    fake.init = init
    fake.shutdown = lambda: calls.append("shutdown")
    util = types.ModuleType("ray.util")
    util.ActorPool = object
    fake.util = util
    monkeypatch.setitem(sys.modules, "ray", fake)
    monkeypatch.setitem(sys.modules, "ray.util", util)
    with pytest.raises(EmoscopeError) as info, RayEngine(BatchSettings(), 2, address):
        pass
    assert str(info.value).startswith(where) and str(info.value).count("\n") == 0
    assert info.value.__cause__ is exc and calls[-1] == "shutdown"


# -- 3, 4. option bounds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "says"),
    [
        ("--threads", "100000", f"argument --threads: must be between 0 and {MAX_THREADS}, got 100000"),
        ("--threads", "-1", f"argument --threads: must be between 0 and {MAX_THREADS}, got -1"),
        ("--workers", "100000", f"argument --workers: must be between 1 and {MAX_WORKERS}, got 100000"),
        ("--workers", "0", f"argument --workers: must be between 1 and {MAX_WORKERS}, got 0"),
        ("--smooth", "nan", "argument --smooth: must be a finite number, got nan"),
        ("--smooth", "inf", "argument --smooth: must be a finite number, got inf"),
        ("--smooth", "-0.5", "argument --smooth: must be >= 0, got -0.5"),
    ],
)  # fmt: skip
def test_out_of_range_options_are_refused_by_the_parser(tmp_path, capsys, option, value, says):
    with pytest.raises(SystemExit) as info:
        main(["batch", str(tmp_path), "--out", str(tmp_path / "r"), option, value])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_run_batch_refuses_too_many_workers_before_starting(tmp_path):
    with pytest.raises(EmoscopeError, match=f"workers must be at most {MAX_WORKERS}"):
        run_batch(tmp_path, tmp_path / "r", workers=100000, engine="ray")
    n = max_local_workers() + 1
    if n <= MAX_WORKERS:
        with pytest.raises(EmoscopeError, match=f"--workers {n}: the local engine starts at most"):
            run_batch(tmp_path, tmp_path / "r", workers=n, fmt="jsonl")
    assert not (tmp_path / "r").exists()


def test_settings_refuse_non_finite_smoothing_and_too_many_threads():
    for bad in (math.nan, math.inf):
        with pytest.raises(ValueError, match="smoothing must be a finite number"):
            BatchSettings(smoothing=bad)
    with pytest.raises(ValueError, match=f"threads must be between 0 and {MAX_THREADS}"):
        BatchSettings(threads=100000)


# -- 5. messages ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("content", [{"a": 1}, {"version": 1}, {"version": "1", "settings": {}, "source": "x"}])  # fmt: skip
def test_foreign_job_file_is_named_as_such(tmp_path, content):
    out = tmp_path / "r"
    out.mkdir()
    (out / "job.json").write_text(json.dumps(content))
    with pytest.raises(EmoscopeError) as info:
        _check_job(out, _job_spec(tmp_path, BatchSettings(), "jsonl"), {"source": "string"})
    msg = str(info.value)
    assert msg.startswith(f"{out / 'job.json'}: not an emoscope batch job file")
    assert "use a new --out folder" in msg and "there" not in msg


def test_problem_messages_lose_the_leading_file_name(tmp_path):
    p = tmp_path / "trunc.avi"
    said = "decoding stopped after 3 of the 10 frames the file announces"
    for name in (str(p), "trunc.avi"):
        assert _unnamed(f"{name}: {said}", p) == said
        assert _unnamed(f"{name}: {said}", str(p)) == said
    assert _unnamed(f"other.avi: {said}", p) == f"other.avi: {said}"


def test_partly_read_video_is_named_once_in_the_summary(collection, tmp_path, capsys):
    folder = tmp_path / "videos"
    folder.mkdir()
    data = (collection / "clip.avi").read_bytes()
    (folder / "trunc.avi").write_bytes(data[: int(len(data) * 0.6)])
    assert main(["batch", str(folder), "--out", str(tmp_path / "r"), "--format", FMT, "--quiet"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if "read only partly:" in ln)
    assert line.startswith("  read only partly: trunc.avi: decoding stopped") and line.count("trunc.avi") == 1
