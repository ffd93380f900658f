"""Batch jobs on several local worker processes and on Ray: the same rows as one worker in this process; a worker
process that dies on an input is replaced and that input recorded as an error; a job killed half-way (SIGKILL)
resumes to the same rows."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from batch_collection import BAD, FMT, GOOD

from emoscope.errors import EmoscopeError
from emoscope.tasks.batch import read_manifest, read_results, run_batch
from emoscope.tasks.batch.engines import WORKER_DIED
from emoscope.tasks.batch.worker import Worker


def _same_rows(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_exact=True)


class CrashingWorker(Worker):
    """A worker whose process dies (as in a crash inside a decoder) on inputs named ``crash*``."""

    def process(self, item):
        if Path(item.key).name.startswith("crash"):
            os._exit(3)
        return super().process(item)


def test_two_worker_processes_give_the_same_rows_and_survive_a_worker_that_dies(
    reference, collection, tmp_path
):
    import shutil

    df, _ = reference
    src = tmp_path / "col"
    shutil.copytree(collection, src)
    (src / "crash.png").write_bytes((collection / "img3.png").read_bytes())  # kills its worker process
    s = run_batch(src, tmp_path / "res", fmt=FMT, workers=2, worker_factory=CrashingWorker)
    assert s.complete and s.ok == len(GOOD) and s.errors == len(BAD) + 1
    assert ("crash.png", WORKER_DIED) in s.error_list
    assert s.restarts == 2  # after the crash, and after the crash of crash.png run alone
    _same_rows(read_results(tmp_path / "res"), df)  # exactly the rows of one worker in this process
    recs = read_manifest(tmp_path / "res").values()
    assert str(os.getpid()) not in {r["worker"].split(":")[-1] for r in recs if r["worker"]}
    assert {r["loads"] for r in recs if r["worker"]} == {1}  # models loaded once per worker process


class DyingWorker:
    """Loads nothing and dies on every input, as when results cannot be sent back: the workers are broken."""

    def __init__(self, settings):
        self.id, self.loads = f"test:{os.getpid()}", 1

    def process(self, item):
        os._exit(3)


def test_workers_that_die_on_every_input_stop_the_job_without_recording_errors(collection, tmp_path):
    lst = tmp_path / "list.txt"
    lst.write_text("".join(f"{collection / k}\n" for k in GOOD))
    with pytest.raises(EmoscopeError, match="keep dying"):
        run_batch(lst, tmp_path / "res", fmt="jsonl", workers=2, worker_factory=DyingWorker)
    assert (
        read_manifest(tmp_path / "res") == {}
    )  # the inputs are not to blame: nothing recorded, all redone later


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):  # a zombie (ended, not yet reaped) counts as ended
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    return True


def test_killed_job_resumes_with_the_same_rows(reference, collection, tmp_path):
    """Two worker processes; the job is killed (SIGKILL) after 4 or more inputs are recorded, right after the next
    input's part is committed, in the middle of writing its manifest record."""
    df, _ = reference
    out = tmp_path / "res"
    script = textwrap.dedent(f"""
        import os, signal, sys
        from emoscope.tasks.batch import manifest
        append, n = manifest.Manifest.append, [0]

        def dying_append(self, record):
            n[0] += 1
            if n[0] >= 5 and record["part"]:  # its part is on disk; half its record is written, then the kill
                line = manifest.json.dumps(record).encode()
                self.path.open("ab").write(line[: len(line) // 2])
                os.kill(os.getpid(), signal.SIGKILL)
            append(self, record)

        manifest.Manifest.append = dying_append
        from emoscope.cli import main
        sys.exit(main(["batch", {str(collection)!r}, "--out", {str(out)!r}, "--format", {FMT!r}, "--workers", "2",
                      "--quiet"]))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -9, proc.stderr[-2000:]
    lines = (out / "manifest.jsonl").read_bytes().split(b"\n")
    done = [json.loads(x) for x in lines[:-1]]
    assert len(done) >= 4 and lines[-1] and not lines[-1].endswith(b"}")  # 4 or more records + a torn one
    workers = {int(r["worker"].split(":")[-1]) for r in done}
    deadline = time.monotonic() + 60
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)  # the worker processes ended with their killed parent
    parts = list((out / "parts").iterdir())
    recorded = {r["part"] for r in done} - {None}
    assert len({p.name for p in parts} - recorded) == 1  # the torn record's part: on disk, not recorded
    s = run_batch(collection, out, fmt=FMT)
    assert s.complete and s.skipped == len(done) and s.processed == len(GOOD) + len(BAD) - len(done)
    _same_rows(read_results(out), df)
    assert sorted(p.name for p in (out / "parts").iterdir()) == sorted(r["part"] for r in read_manifest(out).values()
                                                                        if r["part"])  # fmt: skip
    keys = [json.loads(x)["key"] for x in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(keys) == sorted(GOOD + list(BAD))  # one record each, none lost, none twice


def test_ray_run_gives_the_same_rows_and_survives_an_actor_that_dies(reference, collection, tmp_path):
    import shutil

    ray = pytest.importorskip("ray")
    df, _ = reference
    src = tmp_path / "col"
    shutil.copytree(collection, src)
    (src / "crash.png").write_bytes((collection / "img3.png").read_bytes())  # kills its actor's process
    ray.cloudpickle.register_pickle_by_value(
        sys.modules[__name__]
    )  # Ray workers cannot import this test module
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        s = run_batch(src, tmp_path / "res", fmt=FMT, engine="ray", workers=2, worker_factory=CrashingWorker)
    finally:
        ray.shutdown()
    assert s.complete and s.ok == len(GOOD) and s.errors == len(BAD) + 1
    assert [e for e in s.error_list if e[0] == "crash.png"] == [
        ("crash.png", WORKER_DIED.replace("process", "(Ray actor)"))
    ]
    _same_rows(read_results(tmp_path / "res"), df)
    recs = [r for r in read_manifest(tmp_path / "res").values() if r["worker"]]
    assert {r["loads"] for r in recs} == {
        1
    }  # one model load per actor (a restarted actor loads them again, once)
    assert str(os.getpid()) not in {r["worker"].split(":")[-1] for r in recs}
