"""Where the inputs of a batch job are analysed: in this process, in local worker processes, or on Ray.

Every engine is a context manager with ``map_unordered(items) -> Iterator[Outcome]``: it gives back one
:class:`~emoscope.tasks.batch.worker.Outcome` per input, in the order they finish. Committing them (part files, the
manifest) is the caller's job, in the calling process only, so the output folder needs no sharing.

* :class:`LocalEngine` with one worker analyses in the calling process; with N > 1 it runs a
  ``concurrent.futures.ProcessPoolExecutor`` whose initializer loads the models once per process. Worker processes
  ignore Ctrl-C (the caller stops and kills them). When a worker process dies (a crash inside a decoder, out of
  memory), the pool is restarted and the inputs that were in flight are run again one at a time: one that kills
  its worker again is recorded as an error, the others go on. When inputs keep killing their workers alone
  (:data:`MAX_DEATHS_IN_A_ROW` in a row, none finished in between) the workers are to blame, not the inputs: the
  job stops with an error and records nothing for them.
* :class:`RayEngine` runs a pool of Ray actors (``ray.util.ActorPool``), each holding one
  :class:`~emoscope.tasks.batch.worker.Worker` (models loaded once per actor), on a local Ray instance or on a
  cluster (``address``). Ray restarts an actor that dies and retries its task once; an input whose task still
  fails is recorded as an error.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from emoscope.errors import EmoscopeError
from emoscope.tasks.batch.walk import InputItem
from emoscope.tasks.batch.worker import BatchSettings, Outcome, Worker

WorkerFactory = Callable[[BatchSettings], Worker]

WORKER_DIED = "the worker process died while analysing this input (a crash in a decoder, or out of memory)"
#: Inputs in a row that kill their worker, with no input finished in between, after which the job stops (the
#: workers, not the inputs, are then the likely cause: e.g. results that cannot be sent back).
MAX_DEATHS_IN_A_ROW = 3

_PROCESS_WORKER: Worker | None = None
_BARRIER = None  # multiprocessing Barrier of the start-up tasks
#: The in-process worker of the last one-worker run, reused by the next run with the same settings and factory
#: (jobs run one after another in one program load the models once).
_IN_PROCESS: dict[tuple[BatchSettings, WorkerFactory], Worker] = {}


def _in_process_worker(settings: BatchSettings, factory: WorkerFactory) -> Worker:
    worker = _IN_PROCESS.get((settings, factory))
    if worker is None:
        _IN_PROCESS.clear()
        worker = _IN_PROCESS[(settings, factory)] = factory(settings)
    return worker


def _exit_with_parent(sentinel) -> None:
    """Wait until the parent process is gone, then end this worker (a parent killed outright never stops it)."""
    from multiprocessing.connection import wait as wait_for

    wait_for([sentinel])
    os._exit(1)


def _init_process(settings: BatchSettings, factory: WorkerFactory, barrier) -> None:
    """Initializer of a local worker process: leave Ctrl-C to the parent, end with the parent, load the models
    once."""
    global _PROCESS_WORKER, _BARRIER
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = mp.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with_parent, args=(parent.sentinel,), daemon=True).start()
    _PROCESS_WORKER = factory(settings)
    _BARRIER = barrier


def _process_in_worker(item: InputItem) -> Outcome:
    if _PROCESS_WORKER is None:
        raise RuntimeError("batch worker process was not initialised")
    return _PROCESS_WORKER.process(item)


def _ping() -> str:
    """The start-up task, one per worker: it waits until every worker of the pool has loaded the models (so each
    worker process takes exactly one) and answers with the worker's id."""
    if _PROCESS_WORKER is None or _BARRIER is None:
        raise RuntimeError("batch worker process was not initialised")
    _BARRIER.wait(timeout=600)
    return _PROCESS_WORKER.id


def _mp_context():
    """forkserver where there is one (workers fork from a clean server that has imported emoscope already: fast
    start, no threads inherited), else spawn."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["emoscope.tasks.batch.worker", "onnxruntime", "dlib", "pandas"])
        return ctx
    return mp.get_context("spawn")


class LocalEngine:
    """Analyse on this machine: in this process (``workers == 1``) or in ``workers`` processes."""

    def __init__(self, settings: BatchSettings, workers: int = 1, worker_factory: WorkerFactory = Worker):
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.settings = settings
        self.workers = int(workers)
        self.worker_factory = worker_factory
        self._worker: Worker | None = None
        self._pool: ProcessPoolExecutor | None = None
        self.restarts = 0
        self.worker_ids: list[str] = []

    def __enter__(self) -> LocalEngine:
        if self.workers == 1:
            self._worker = _in_process_worker(self.settings, self.worker_factory)
        else:
            self._pool = self._new_pool()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._pool is not None:
            if exc_type is None:
                self._pool.shutdown(wait=True)
            else:
                _kill_pool(self._pool)
            self._pool = None
        self._worker = None

    def _new_pool(self) -> ProcessPoolExecutor:
        """A started pool whose workers have all loaded the models (each has run a start-up task): a pool whose
        workers cannot start is an error of the job (:class:`EmoscopeError`), not of the inputs."""
        ctx = _mp_context()
        pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_init_process,
                                   initargs=(self.settings, self.worker_factory, ctx.Barrier(self.workers)))  # fmt: skip
        try:
            self.worker_ids = [f.result() for f in [pool.submit(_ping) for _ in range(self.workers)]]
        except BaseException as e:
            _kill_pool(pool)
            if isinstance(e, Exception):
                raise EmoscopeError(
                    f"the batch worker processes cannot start: {type(e).__name__}: {e}"
                ) from e
            raise
        return pool

    def map_unordered(self, items: Iterable[InputItem]) -> Iterator[Outcome]:
        """One outcome per input, in the order they finish."""
        if self._worker is not None:
            for it in items:
                yield self._worker.process(it)
            return
        if self._pool is None:
            raise RuntimeError("LocalEngine is used outside its 'with' block")
        queue = deque(items)
        retry: deque[InputItem] = deque()  # in flight when a worker died: re-run one at a time
        in_flight: dict[Future, InputItem] = {}
        isolated = False  # the one input in flight is a retried one, alone
        # inputs that killed their worker alone: given out once another input finishes (the pool works)
        died: list[Outcome] = []
        cause: BaseException | None = None
        limit = 2 * self.workers
        while queue or retry or in_flight:
            pool_broken = False
            try:
                while True:
                    if retry:
                        if not in_flight:
                            it = retry.popleft()
                            isolated = True
                            self._submit(it, in_flight, retry)
                        break
                    if isolated and in_flight:
                        break
                    isolated = False
                    if not queue or len(in_flight) >= limit:
                        break
                    self._submit(queue.popleft(), in_flight, queue)
            except BrokenProcessPool:
                pool_broken = True
            suspects: list[InputItem] = []
            if in_flight and not pool_broken:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for f in done:
                    it = in_flight.pop(f)
                    try:
                        outcome = f.result()
                    except BrokenProcessPool as e:
                        suspects.append(it)
                        cause = e.__cause__ or e
                        continue
                    except Exception as e:  # e.g. the outcome could not be sent back
                        outcome = Outcome(key=it.key, status="error", error=f"{type(e).__name__}: {e}")
                    # a worker answered: the pool works, so the inputs that killed their worker alone were the cause
                    yield from died
                    died.clear()
                    yield outcome
            if pool_broken or suspects:
                suspects += in_flight.values()  # the whole pool is gone: every other input in flight too
                in_flight.clear()
                if isolated and len(suspects) == 1:
                    died.append(Outcome(key=suspects[0].key, status="error", error=WORKER_DIED))
                    if len(died) >= MAX_DEATHS_IN_A_ROW:
                        raise EmoscopeError(
                            f"the batch worker processes keep dying ({len(died)} inputs in a row, e.g. "
                            f"{died[0].key}; last cause: {cause}); nothing was recorded for them: re-run to resume"
                        )
                else:
                    retry.extend(sorted(suspects, key=lambda b: b.key))
                isolated = False
                _kill_pool(self._pool)
                self._pool = self._new_pool()
                self.restarts += 1
        yield from died

    def _submit(self, item: InputItem, in_flight: dict[Future, InputItem], back: deque[InputItem]) -> None:
        """Submit ``item``; when the pool turns out to be broken it goes back to the front of ``back``."""
        try:
            in_flight[self._pool.submit(_process_in_worker, item)] = item
        except BrokenProcessPool:
            back.appendleft(item)
            raise


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now: cancel what has not started, kill the worker processes (ours), reap them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        with contextlib.suppress(Exception):
            p.kill()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(timeout=10)


def import_ray():
    """The ``ray`` module, or a clear :class:`EmoscopeError` when it is not installed."""
    try:
        import ray
    except ImportError as e:
        raise EmoscopeError("--engine ray needs Ray: pip install 'emoscope[batch]'") from e
    return ray


class RayWorker:
    """The Ray actor of a batch job: one :class:`Worker` (models loaded once, when the actor starts)."""

    def __init__(self, settings: BatchSettings, factory: WorkerFactory = Worker):
        self.worker = factory(settings)

    def ready(self) -> tuple[str, str]:
        """The worker's id and the emoscope version it runs."""
        from emoscope import __version__

        return self.worker.id, __version__

    def process(self, item: InputItem) -> Outcome:
        return self.worker.process(item)


class RayEngine:
    """Analyse on Ray: ``workers`` actors (default: one per CPU of the cluster, ``cpus_per_worker`` each).

    address: the cluster to join (``auto``, ``ray://head:10001``, ``host:6379``); None starts a local Ray instance
    (``num_cpus = workers``) unless Ray is already initialised in this process (then that instance is used, and
    left running). init_kwargs: further ``ray.init`` arguments.
    """

    def __init__(self, settings: BatchSettings, workers: int | None = None, address: str | None = None,
                 cpus_per_worker: float = 1.0, worker_factory: WorkerFactory = Worker,
                 init_kwargs: dict[str, Any] | None = None):  # fmt: skip
        self.settings = settings
        self.workers = workers
        self.address = address
        self.cpus_per_worker = float(cpus_per_worker)
        self.worker_factory = worker_factory
        self.init_kwargs = dict(init_kwargs or {})
        self._owns_ray = False
        self.worker_ids: list[str] = []
        self._actors: list = []
        self._pool = None

    def __enter__(self) -> RayEngine:
        ray = import_ray()
        from ray.util import ActorPool

        if not ray.is_initialized():
            kw: dict[str, Any] = {"address": self.address} if self.address else {
                "num_cpus": self.workers, "include_dashboard": False}  # fmt: skip
            kw.update(self.init_kwargs)
            try:
                ray.init(**kw)
            except Exception as e:  # a missing ray[client], an unreachable head, a start-up timeout
                where = f"join the Ray cluster at {self.address}" if self.address else "start Ray here"
                cause = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                with contextlib.suppress(Exception):
                    ray.shutdown()  # whatever the failed start left running
                raise EmoscopeError(f"could not {where}: {cause}") from e
            self._owns_ray = True
        n = self.workers or max(1, int(ray.cluster_resources().get("CPU", 1) // self.cpus_per_worker))
        actor = ray.remote(num_cpus=self.cpus_per_worker, max_restarts=-1, max_task_retries=1)(RayWorker)
        self._actors = [actor.remote(self.settings, self.worker_factory) for _ in range(n)]
        try:
            answers = ray.get([a.ready.remote() for a in self._actors])
        except ray.exceptions.RayError as e:
            self._stop()
            raise EmoscopeError(f"the Ray batch workers could not start: {e}") from e
        from emoscope import __version__

        versions = sorted({v for _, v in answers} - {__version__})
        if versions:
            self._stop()
            raise EmoscopeError(f"the Ray workers run emoscope {', '.join(versions)}, this program {__version__}: "
                                "install the same version on every node")  # fmt: skip
        self.worker_ids = [w for w, _ in answers]
        self._pool = ActorPool(self._actors)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop()

    def _stop(self) -> None:
        ray = import_ray()
        for a in self._actors:
            with contextlib.suppress(Exception):
                ray.kill(a)
        self._actors, self._pool = [], None
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False

    def map_unordered(self, items: Iterable[InputItem]) -> Iterator[Outcome]:
        """One outcome per input, in the order they finish (at most two inputs in flight per actor)."""
        ray = import_ray()
        pool = self._pool
        if pool is None:
            raise RuntimeError("RayEngine is used outside its 'with' block")
        source = iter(items)
        # key -> (object ref, item), until its outcome is given
        tracked: dict[str, tuple[Any, InputItem]] = {}

        def call(actor, item: InputItem):
            ref = actor.process.remote(item)
            tracked[item.key] = (ref, item)
            return ref

        def submit_next() -> None:
            item = next(source, None)
            if item is not None:
                pool.submit(call, item)

        for _ in range(2 * len(self._actors)):
            submit_next()
        while pool.has_next():
            try:
                out = pool.get_next_unordered()
            except ray.exceptions.RayError:
                # the failed task's input: a tracked task that has finished with an error (one that was reported
                # already is no longer tracked, so every failure is reported once)
                for k in [k for k, (ref, _) in tracked.items() if _failed(ray, ref)]:
                    tracked.pop(k)
                    yield Outcome(key=k, status="error", error=WORKER_DIED.replace("process", "(Ray actor)"))
                    submit_next()
                continue
            tracked.pop(out.key, None)
            yield out
            submit_next()


def _failed(ray, ref) -> bool:
    """Whether a finished Ray task raised (a task still running has not failed yet)."""
    ready, _ = ray.wait([ref], timeout=0)
    if not ready:
        return False
    try:
        ray.get(ref)
    except ray.exceptions.RayError:
        return True
    return False
