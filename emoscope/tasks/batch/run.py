"""Run a batch job: list the inputs, skip the finished ones, analyse the rest on an engine, commit each input's rows
and manifest record as it finishes, and write the final table when every input is finished.

Resuming is re-running the same job (same input, same output folder, same settings): inputs with a manifest record
are skipped, unless the file has changed since (size or modification time) or the record is an error and
``retry_errors`` is set. Rows are never duplicated (one part per input; the last record wins) nor lost (a part
counts only once its record is on disk). A part found damaged when the final table is written (it does not parse,
or holds another number of rows than its record says) is deleted and its input analysed again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emoscope.errors import EmoscopeError
from emoscope.outputs.files import write_text_atomic
from emoscope.tasks.batch.engines import LocalEngine, RayEngine
from emoscope.tasks.batch.manifest import Manifest
from emoscope.tasks.batch.store import (
    FORMATS,
    PARTS,
    DamagedParts,
    clean_parts,
    final_parts,
    part_name,
    read_part,
    read_table,
    require_pyarrow,
    results_path,
    write_part,
    write_results,
)
from emoscope.tasks.batch.walk import InputItem, Walk, collect_inputs
from emoscope.tasks.batch.worker import BatchSettings, Outcome, Worker, build_analyzer, columns_for

JOB_FILE = "job.json"
MANIFEST_FILE = "manifest.jsonl"
JOB_VERSION = 1

#: The most workers a job accepts (``--workers``: worker processes, or Ray actors over the cluster).
MAX_WORKERS = 1024
#: The local engine further refuses more than this many worker processes per CPU of this machine.
MAX_LOCAL_WORKERS_PER_CPU = 4


def max_local_workers() -> int:
    """The most worker processes the local engine starts on this machine."""
    return min(MAX_WORKERS, MAX_LOCAL_WORKERS_PER_CPU * (os.cpu_count() or 1))


@dataclass
class BatchSummary:
    """What a run did.

    total: inputs of the job; skipped: finished in an earlier run; processed: finished in this run, of which
    ``ok`` and ``errors``; rows: rows written in this run; seconds: wall time of this run; interrupted: stopped by
    Ctrl-C (re-run to resume); complete: every input is finished and :attr:`output` is written; output: the final
    table; error_list: ``(key, message)`` of this run's errors; ignored: files of the folder that are neither
    images nor videos; restarts: times a worker pool was restarted after a worker died; job_ok, job_errors: inputs
    of the whole job (all runs) finished ok / with an error; partial: inputs of this run that are ``ok`` but were
    read only partly (a video that broke off: its rows cover the frames before), with ``(key, problem)`` in
    partial_list; warnings: what the run should tell (an input folder or list without inputs, damaged part files
    that were redone).
    """

    out: str
    total: int = 0
    skipped: int = 0
    processed: int = 0
    ok: int = 0
    errors: int = 0
    rows: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    complete: bool = False
    output: str | None = None
    total_rows: int | None = None
    error_list: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0
    restarts: int = 0
    job_ok: int = 0
    job_errors: int = 0
    partial: int = 0
    partial_list: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["error_list"] = [list(e) for e in self.error_list]
        d["partial_list"] = [list(e) for e in self.partial_list]
        d["warnings"] = list(self.warnings)
        return d


@functools.lru_cache(maxsize=4)
def _job_model(settings: BatchSettings) -> tuple[dict[str, str], str | None]:
    """The result columns of a job with ``settings`` and the default head of its model."""
    analyzer = build_analyzer(settings)
    meta = getattr(analyzer.recognizer, "meta", None) or {}
    return columns_for(analyzer), meta.get("default_head", next(iter(meta.get("heads") or {}), None))


def job_columns(settings: BatchSettings) -> dict[str, str]:
    """The result columns of a job with ``settings``, from its model (the face detector is not loaded); a bad
    ``model`` / ``head`` fails here, before any worker starts."""
    return _job_model(settings)[0]


#: The ``emoscope batch`` option of each setting of a job, as messages name them.
_OPTIONS = {"source": "input", "format": "--format", "model": "--model", "head": "--head", "affect": "--affect",
            "va_model": "--va-model", "every": "--every", "smoothing": "--smooth", "frame_step": "--frame-step",
            "max_frames": "--max-frames"}  # fmt: skip


def _shown(value: Any, default: str | None = None) -> str:
    """A setting's value as a message shows it (``None``: the default)."""
    if value is None:
        return f"{default} (the default)" if default else "the default"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _job_spec(source: str | os.PathLike, settings: BatchSettings, fmt: str) -> dict[str, Any]:
    return {"version": JOB_VERSION, "source": str(Path(source).resolve()), "format": fmt,
            "settings": settings.identity()}  # fmt: skip


def _check_job(
    out: Path, spec: dict[str, Any], columns: dict[str, str], default_head: str | None = None
) -> None:
    """Create ``job.json``, or check that the job in ``out`` is this one (same source, format, settings); when it is
    not, the message names the options that differ (``default_head``: what ``head=None`` means for this model)."""
    path = out / JOB_FILE
    want = dict(spec, columns=[[k, v] for k, v in columns.items()])
    if not path.exists():
        if (out / MANIFEST_FILE).exists():
            raise EmoscopeError(f"{out}: has a manifest but no {JOB_FILE}; use a new --out folder")
        write_text_atomic(json.dumps(want, indent=2) + "\n", path)
        return
    try:
        have = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(have, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as e:
        raise EmoscopeError(f"{path}: cannot be read ({e}); use a new --out folder") from e
    if not (isinstance(have.get("version"), int) and isinstance(have.get("settings"), dict)
            and "source" in have):  # fmt: skip
        raise EmoscopeError(f"{path}: not an emoscope batch job file (no job version, input and settings): {out} "
                            "does not hold an emoscope batch job; use a new --out folder")  # fmt: skip
    have_settings = have.get("settings") if isinstance(have.get("settings"), dict) else {}
    same_model = have_settings.get("model") == want["settings"].get("model")
    diffs = []
    if have.get("version") != want["version"]:
        diffs.append(f"job version {have.get('version')!r} there, {want['version']} now")
    for k in ("source", "format"):
        if have.get(k) != want[k]:
            diffs.append(f"{_OPTIONS[k]} {_shown(have.get(k))} there, {_shown(want[k])} now")
    for k, v in want["settings"].items():
        if have_settings.get(k) != v:
            default = default_head if k == "head" else None
            there = _shown(have_settings.get(k), default if same_model else None)
            diffs.append(f"{_OPTIONS.get(k, k)} {there} there, {_shown(v, default)} now")
    if not diffs and have.get("columns") != want["columns"]:
        n = len(have.get("columns") or [])
        diffs.append(
            f"the result columns differ ({n} there, {len(want['columns'])} now: the model file changed?)"
        )
    if diffs:
        raise EmoscopeError(f"{out} holds a job with other options ({'; '.join(diffs)}): resume it with the same "
                            "input and options, or use a new --out folder")  # fmt: skip


def _finished(rec: dict[str, Any] | None, item: InputItem, parts_dir: Path, retry_errors: bool) -> bool:
    """Whether ``item`` needs no work: its last record is for the file as it is now, and its part is there."""
    if rec is None or (rec.get("size"), rec.get("mtime_ns")) != item.signature:
        return False
    if rec.get("status") == "error":
        return not retry_errors
    part = rec.get("part")
    return rec.get("status") == "ok" and (part is None or (parts_dir / part).is_file())


@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """One run at a time per output folder (an advisory lock on ``out/.lock``; none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows
        yield
        return
    with open(out / ".lock", "w") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            raise EmoscopeError(f"{out}: another 'emoscope batch' is writing to this folder") from e
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


class _Progress:
    """A line on stderr every few seconds: inputs done, errors, inputs/s, time left."""

    def __init__(self, todo: int, every: float = 5.0):
        self.todo, self.every = todo, every
        self.t0 = self.last = time.perf_counter()

    def __call__(self, done: int, errors: int, final: bool = False) -> None:
        now = time.perf_counter()
        if not final and now - self.last < self.every:
            return
        self.last = now
        rate = done / max(now - self.t0, 1e-9)
        left = (
            f", about {(self.todo - done) / rate / 60:.1f} min left" if rate > 0 and done < self.todo else ""
        )
        print(f"emoscope batch: {done}/{self.todo} inputs ({errors} errors), {rate:.2f} inputs/s{left}",
              file=sys.stderr, flush=True)  # fmt: skip


def run_batch(
    source: str | os.PathLike,
    out: str | os.PathLike,
    *,
    settings: BatchSettings | None = None,
    fmt: str = "parquet",
    workers: int | None = None,
    engine: str = "local",
    address: str | None = None,
    retry_errors: bool = False,
    progress: bool | Callable[[Outcome], None] = False,
    worker_factory: Callable[[BatchSettings], Worker] = Worker,
    ray_init: dict[str, Any] | None = None,
) -> BatchSummary:
    """Analyse every image and video of ``source`` (a folder, or a text file listing paths) into ``out``.

    settings: what is computed (:class:`BatchSettings`); fmt: ``parquet`` or ``jsonl``; workers: worker processes
    (local, default 1) or Ray actors (default: one per CPU of the cluster); engine: ``local`` or ``ray``; address:
    the Ray cluster (``auto``, ``ray://head:10001``; None = a local Ray instance); retry_errors: redo inputs whose
    last outcome was an error; progress: True for a progress line on stderr every few seconds, or a callable
    called with each :class:`Outcome` after it is committed; worker_factory: builds the per-worker analyser
    (default :class:`Worker`; must be importable by worker processes); ray_init: further ``ray.init`` arguments.

    Ctrl-C stops the run: what was committed stays, the summary says ``interrupted`` and re-running resumes.
    """
    settings = settings or BatchSettings()
    if fmt not in FORMATS:
        raise EmoscopeError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if engine not in ("local", "ray"):
        raise EmoscopeError(f"engine must be local or ray, got {engine!r}")
    if workers is not None and workers < 1:
        raise EmoscopeError(f"workers must be >= 1, got {workers}")
    if workers is not None and workers > MAX_WORKERS:
        raise EmoscopeError(f"workers must be at most {MAX_WORKERS}, got {workers}")
    if engine == "local" and workers is not None and workers > max_local_workers():
        raise EmoscopeError(f"--workers {workers}: the local engine starts at most {max_local_workers()} worker "
                            f"processes on this machine ({MAX_LOCAL_WORKERS_PER_CPU} per CPU); use fewer, or "
                            "--engine ray")  # fmt: skip
    if fmt == "parquet":
        require_pyarrow()
    t0 = time.perf_counter()
    out_dir = Path(out)
    if out_dir.exists() and not out_dir.is_dir():
        raise EmoscopeError(f"{out_dir}: exists and is not a folder (--out names a results folder)")
    walk: Walk = collect_inputs(source, exclude=[out_dir])
    columns, default_head = _job_model(settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = BatchSummary(
        out=str(out_dir), total=len(walk.items), ignored=walk.skipped, warnings=list(walk.warnings)
    )
    with _lock(out_dir):
        _check_job(out_dir, _job_spec(source, settings, fmt), columns, default_head)
        parts_dir = out_dir / PARTS
        parts_dir.mkdir(exist_ok=True)
        manifest = Manifest(out_dir / MANIFEST_FILE)
        records = {k: _compact(r) for k, r in manifest.load().items()}
        clean_parts(parts_dir, {r["part"] for r in records.values() if r.get("part")})
        todo = [it for it in walk.items if not _finished(records.get(it.key), it, parts_dir, retry_errors)]
        summary.skipped = summary.total - len(todo)
        final = results_path(out_dir, fmt)
        if todo and final.exists():
            final.unlink()  # stale: it is written again when every input is finished

        def analyse(items: list[InputItem]) -> None:
            """Analyse ``items`` on a new engine, committing each outcome; raises when some got no outcome."""
            by_key = {it.key: it for it in items}
            got: set[str] = set()
            bar = _Progress(len(items)) if progress is True else None
            eng = (LocalEngine(settings, workers or 1, worker_factory) if engine == "local"
                   else RayEngine(settings, workers, address, worker_factory=worker_factory, init_kwargs=ray_init))  # fmt: skip
            done = 0
            try:
                with eng:
                    for outcome in eng.map_unordered(items):
                        got.add(outcome.key)
                        _commit(outcome, by_key[outcome.key], manifest, records, parts_dir, fmt, columns)
                        done += 1
                        summary.processed += 1
                        summary.rows += outcome.n_rows
                        if outcome.ok:
                            summary.ok += 1
                            if outcome.problems:
                                summary.partial += 1
                                summary.partial_list.append((outcome.key, "; ".join(outcome.problems)))
                        else:
                            summary.errors += 1
                            summary.error_list.append((outcome.key, outcome.error or ""))
                        if callable(progress):
                            progress(outcome)
                        elif bar is not None:
                            bar(done, summary.errors)
                summary.restarts += getattr(eng, "restarts", 0)
            except KeyboardInterrupt:
                summary.interrupted = True
            if bar is not None:
                bar(done, summary.errors, final=True)
            if not summary.interrupted:
                missing = [k for k in by_key if k not in got]
                if missing:
                    raise EmoscopeError(f"{len(missing)} inputs were given no outcome (every worker died?), e.g. "
                                        f"{missing[0]}; re-run the same command to resume")  # fmt: skip

        with manifest:
            if todo:
                analyse(todo)
            redone: set[str] = set()
            while not summary.interrupted:
                parts = final_parts(walk.items, records, parts_dir)
                expected = {r["part"]: r.get("rows") for r in records.values() if r.get("part")}
                try:
                    summary.total_rows = write_results(parts, final, fmt, columns, expected_rows=expected)
                except DamagedParts as e:
                    redo = _damaged_inputs(e, walk.items, records, redone)
                    if not redo:
                        raise EmoscopeError(
                            f"{e}; its input was analysed again in this run and its part is still damaged (a "
                            f"failing disk?): {final} was left as it was; re-run the same command to try again"
                        ) from e
                    for path, problem in e.parts:
                        summary.warnings.append(f"{path}: damaged part file ({problem}): deleted, its input is "
                                                "analysed again")  # fmt: skip
                        with contextlib.suppress(OSError):
                            path.unlink()
                    redone.update(it.key for it in redo)
                    summary.skipped -= len(redo)
                    analyse(redo)
                    continue
                summary.output = str(final)
                summary.complete = True
                break
        last = [records[it.key]["status"] for it in walk.items if it.key in records]
        summary.job_ok, summary.job_errors = last.count("ok"), last.count("error")
    summary.seconds = round(time.perf_counter() - t0, 3)
    return summary


def _commit(outcome: Outcome, item: InputItem, manifest: Manifest, records: dict[str, dict], parts_dir: Path,
            fmt: str, columns: dict[str, str]) -> None:  # fmt: skip
    """Make one input's outcome durable: its part (atomically), then its manifest record."""
    part = None
    if outcome.ok and outcome.rows is not None and outcome.n_rows > 0:
        part = part_name(item.key, fmt)
        write_part(outcome.rows, parts_dir / part, fmt, columns)
    rec = {
        "key": item.key, "kind": item.kind, "status": outcome.status, "error": outcome.error,
        "problems": list(outcome.problems), "rows": int(outcome.n_rows), "seconds": outcome.seconds,
        "cpu_seconds": outcome.cpu_seconds, "part": part,
        "size": item.size, "mtime_ns": item.mtime_ns, "worker": outcome.worker, "loads": outcome.loads,
        "peak_rss_mb": outcome.peak_rss_mb, "finished": round(time.time(), 3),
    }  # fmt: skip
    manifest.append(rec)
    records[item.key] = _compact(rec)


def _compact(rec: dict[str, Any]) -> dict[str, Any]:
    """The fields of a manifest record that the run needs (the driver holds one per input)."""
    return {k: rec.get(k) for k in ("status", "part", "rows", "size", "mtime_ns")}


def _damaged_inputs(err: DamagedParts, items: list[InputItem], records: dict[str, dict],
                    redone: set[str]) -> list[InputItem]:  # fmt: skip
    """The inputs whose parts ``err`` found damaged, in job order; empty when any of them was redone already in
    this run (analysing it again would not help)."""
    bad = {p.name for p, _ in err.parts}
    redo = [it for it in items if (records.get(it.key) or {}).get("part") in bad]
    if len(redo) < len(bad) or any(it.key in redone for it in redo):
        return []
    return redo


def load_job(out: str | os.PathLike) -> dict[str, Any]:
    """The ``job.json`` of a results folder."""
    path = Path(out) / JOB_FILE
    if not path.is_file():
        raise EmoscopeError(f"{out}: not a batch results folder (no {JOB_FILE})")
    return json.loads(path.read_text(encoding="utf-8"))


def read_manifest(out: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The last manifest record of every input of a results folder, by key."""
    return Manifest(Path(out) / MANIFEST_FILE).load()


def read_results(out: str | os.PathLike, *, partial: bool = False):  # -> pandas.DataFrame
    """The results of a batch job as a pandas DataFrame (the job's columns and types).

    Reads ``results.<ext>``; with ``partial`` (or when it is not written yet and ``partial`` is True) the committed
    parts instead, in input-key order: what an interrupted job has so far.
    """
    import pandas as pd

    job = load_job(out)
    fmt = job["format"]
    columns = {k: v for k, v in job["columns"]}
    final = results_path(out, fmt)
    if not partial:
        if not final.is_file():
            raise EmoscopeError(
                f"{final}: not written yet (the job is unfinished: re-run it, or read partial results)"
            )
        return read_table(final, fmt, columns)
    records = read_manifest(out)
    frames = [read_part(Path(out) / PARTS / r["part"], fmt, columns)
              for _, r in sorted(records.items()) if r.get("status") == "ok" and r.get("part")]  # fmt: skip
    if not frames:
        from emoscope.tasks.batch.rows import empty_table

        return empty_table(columns)
    return pd.concat(frames, ignore_index=True)
