"""Video jobs: a SQLite store (``sqlite3``) that survives restarts, and the runner that analyses them.

Layout inside the service's data folder::

    jobs.sqlite3            one row per job: status, progress, times, parameters, summary, error
    jobs/<id>/input.video   the upload, while the job waits or runs (removed when it ends, unless kept)
    jobs/<id>/result.json   VideoResult.to_dict() with every frame  } written atomically when the job is done
    jobs/<id>/frames.csv    one row per face per frame               }
    jobs/<id>/timeline.png  the timeline plot                        }

Job ids are 32 lowercase hex digits made by the service (:func:`new_job_id`); :meth:`JobStore.job_dir` refuses
anything else, so no id can point outside ``jobs/``.

States: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``interrupted``. When the store is opened after a
stop, jobs left ``running`` become ``interrupted`` (their upload is removed); ``queued`` jobs, whose upload is
complete and untouched, are returned by :meth:`JobStore.recover` to be run again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from queue import Queue
from typing import Any

from emoscope.errors import InputError

log = logging.getLogger("emoscope.service")

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
FINAL_STATES = ("done", "failed", "interrupted")
INPUT_NAME = "input.video"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    name TEXT,
    params TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    frames_done INTEGER NOT NULL DEFAULT 0,
    frames_total INTEGER,
    summary TEXT,
    error TEXT,
    detail TEXT
)
"""
_COLUMNS = (
    "id",
    "status",
    "name",
    "params",
    "created",
    "started",
    "finished",
    "frames_done",
    "frames_total",
    "summary",
    "error",
    "detail",
)


def new_job_id() -> str:
    """A fresh job id: 32 random lowercase hex digits."""
    return uuid.uuid4().hex


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds")


@dataclass
class Job:
    """One video job as stored (times in Unix seconds; ``summary``: ``VideoResult.to_dict(frames=False)``)."""

    id: str
    status: str
    name: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    frames_done: int = 0
    frames_total: int | None = None
    summary: dict[str, Any] | None = None
    error: str | None = None
    detail: str | None = None

    @property
    def progress(self) -> float | None:
        """Fraction done in [0, 1]: 1 when done, ``None`` while the number of frames is unknown."""
        if self.status == "done":
            return 1.0
        if not self.frames_total:
            return None
        return round(min(1.0, self.frames_done / self.frames_total), 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "file": self.name,
            "progress": self.progress,
            "frames_done": self.frames_done,
            "frames_total": self.frames_total,
            "params": self.params,
            "created": _iso(self.created),
            "started": _iso(self.started),
            "finished": _iso(self.finished),
            "error": self.error,
            "detail": self.detail,
        }


class JobStore:
    """Jobs in ``<root>/jobs.sqlite3`` and their files in ``<root>/jobs/<id>/`` (thread-safe)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.jobs_dir = self.root / "jobs"
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.root / "jobs.sqlite3"
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ----------------------------------------------------------------------------------------------- files
    def job_dir(self, job_id: str) -> Path:
        """``<root>/jobs/<id>``; ValueError for anything that is not a job id."""
        if not isinstance(job_id, str) or not JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.jobs_dir / job_id

    def input_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / INPUT_NAME

    # ------------------------------------------------------------------------------------------------ rows
    def create(self, job_id: str, name: str | None, params: dict[str, Any]) -> Job:
        job = Job(id=job_id, status="queued", name=name, params=params, created=time.time())
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, status, name, params, created) VALUES (?, ?, ?, ?, ?)",
                (job.id, job.status, job.name, json.dumps(params), job.created),
            )
        return job

    def get(self, job_id: str) -> Job | None:
        if not isinstance(job_id, str) or not JOB_ID.match(job_id):
            return None
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        return _job(row) if row else None

    def list(self, limit: int = 50) -> list[Job]:
        """The most recent jobs first."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM jobs ORDER BY created DESC LIMIT ?", (int(limit),)
            ).fetchall()
        return [_job(r) for r in rows]

    def update(self, job_id: str, **values: Any) -> None:
        """Set columns of one job (``params`` / ``summary`` are given as dicts)."""
        bad = set(values) - set(_COLUMNS[1:])
        if bad:
            raise KeyError(f"unknown job columns {sorted(bad)}")
        for k in ("params", "summary"):
            if k in values and values[k] is not None:
                values[k] = json.dumps(values[k])
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {sets} WHERE id = ?", (*values.values(), job_id))

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        return {s: int(n) for s, n in rows}

    def recover(self) -> list[str]:
        """After a (re)start: jobs left ``running`` become ``interrupted`` (upload removed); returns the ids
        of the ``queued`` jobs whose upload is still there, oldest first (the others become ``failed``)."""
        now = time.time()
        with self._lock:
            running = [
                r[0] for r in self._db.execute("SELECT id FROM jobs WHERE status = 'running'").fetchall()
            ]
            queued = [
                r[0]
                for r in self._db.execute(
                    "SELECT id FROM jobs WHERE status = 'queued' ORDER BY created"
                ).fetchall()
            ]
            for jid in running:
                self._db.execute(
                    "UPDATE jobs SET status = 'interrupted', finished = ?, error = 'interrupted', detail = ? "
                    "WHERE id = ?",
                    (now, "the service stopped while this job was running; upload the video again", jid),
                )
        for jid in running:
            with contextlib.suppress(OSError, ValueError):
                self.input_path(jid).unlink()
        ready = []
        for jid in queued:
            if self.input_path(jid).is_file():
                ready.append(jid)
            else:
                self.update(
                    jid,
                    status="failed",
                    finished=now,
                    error="upload_lost",
                    detail="the uploaded video was not found when the service restarted",
                )
        return ready


def _job(row: tuple) -> Job:
    d = dict(zip(_COLUMNS, row, strict=True))
    d["params"] = json.loads(d["params"] or "{}")
    d["summary"] = json.loads(d["summary"]) if d["summary"] else None
    return Job(**d)


def client_text(text: str, src: Path, name: str) -> str:
    """``text`` with the server's path of an upload (``src``, as given or resolved) replaced by the client's file
    ``name``: messages a client sees never show the service's folders."""
    paths = {str(src), os.path.abspath(src), str(src.resolve())}
    for p in sorted(paths, key=len, reverse=True):
        text = text.replace(p, name)
    return text


class JobCancelled(Exception):
    """Raised inside a running analysis when the service stops."""


class JobRunner:
    """Runs video jobs in background threads, each with its own analyzer, and records progress and results.

    video_fn: ``video_fn(path, analyzer=..., every=..., smoothing=..., progress=..., max_frames=...) ->
    VideoResult``; analyzers: one analyzer per worker thread; keep_uploads: keep ``input.video`` after the
    job.
    """

    def __init__(
        self,
        store: JobStore,
        video_fn: Callable[..., Any],
        analyzers: list[Any],
        *,
        keep_uploads: bool = False,
        progress_every: float = 0.5,
    ):
        self.store = store
        self.video_fn = video_fn
        self._analyzers: Queue[Any] = Queue()
        for a in analyzers:
            self._analyzers.put(a)
        self.keep_uploads = keep_uploads
        self.progress_every = progress_every
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, len(analyzers)), thread_name_prefix="emoscope-video"
        )
        self._stop = threading.Event()

    def submit(self, job_id: str) -> None:
        self._pool.submit(self._run, job_id)

    def shutdown(self) -> None:
        """Stop: running jobs end as ``interrupted`` (their partial work is dropped), waiting ones stay
        ``queued`` (and run after the next start)."""
        self._stop.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, job_id: str) -> None:
        job = self.store.get(job_id)
        if job is None or job.status != "queued" or self._stop.is_set():
            return
        analyzer = self._analyzers.get()
        try:
            self._analyse(job, analyzer)
        finally:
            self._analyzers.put(analyzer)

    def _analyse(self, job: Job, analyzer: Any) -> None:
        from emoscope.outputs.files import write_text_atomic

        store, jid = self.store, job.id
        folder = store.job_dir(jid)
        src = folder / INPUT_NAME
        store.update(jid, status="running", started=time.time())
        last = [0.0]

        def progress(done: int, total: int | None) -> None:
            if self._stop.is_set():
                raise JobCancelled
            now = time.monotonic()
            if now - last[0] >= self.progress_every:
                last[0] = now
                store.update(jid, frames_done=int(done), frames_total=None if total is None else int(total))

        p = job.params
        name = job.name or "upload"
        try:
            result = self.video_fn(
                src,
                analyzer=analyzer,
                every=p.get("every", 5),
                smoothing=p.get("smoothing", 0.3),
                progress=progress,
                max_frames=p.get("max_frames"),
            )
            result.file = name  # never the server-side path
            result.problems = [client_text(m, src, name) for m in result.problems]
            write_text_atomic(json.dumps(result.to_dict(frames=True)), folder / "result.json")
            result.to_csv(folder / "frames.csv")
            outputs = ["result.json", "frames.csv"]
            try:
                result.plot(folder / "timeline.png")
                outputs.append("timeline.png")
            except ImportError:  # matplotlib is not installed: the page draws the timeline itself
                pass
            summary = result.to_dict(frames=False)
            summary["outputs"] = outputs
            store.update(
                jid,
                status="done",
                finished=time.time(),
                frames_done=len(result.frames),
                frames_total=len(result.frames),
                summary=summary,
            )
        except JobCancelled:
            store.update(
                jid,
                status="interrupted",
                finished=time.time(),
                error="interrupted",
                detail="the service stopped while this job was running; upload the video again",
            )
        except InputError as e:
            problem = client_text(e.problem, src, name)
            store.update(
                jid,
                status="failed",
                finished=time.time(),
                error="invalid_video",
                detail=problem if problem.startswith(f"{name}: ") else f"{name}: {problem}",
            )
        except Exception as e:  # the job fails; the service goes on
            # the details (which may name server files) stay in the server's log; the client gets the job id
            log.error("video job %s (%s) failed", jid, src, exc_info=e)
            store.update(
                jid,
                status="failed",
                finished=time.time(),
                error="analysis_failed",
                detail=f"{name}: the analysis failed unexpectedly ({type(e).__name__}); the service log has the "
                f"details (job {jid})",
            )
        finally:
            if not self.keep_uploads:
                with contextlib.suppress(OSError):
                    src.unlink()
