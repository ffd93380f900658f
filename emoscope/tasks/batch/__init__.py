"""Batch analysis of large photo and video collections, resumable, on one machine or on a Ray cluster (issue P7).

>>> from emoscope.tasks.batch import BatchSettings, read_results, run_batch
>>> summary = run_batch("photos/", "results/", workers=4)              # or engine="ray", address="auto"
>>> df = read_results("results/")      # one row per face per image / video frame

See :mod:`emoscope.tasks.batch.run` (resuming), :mod:`emoscope.tasks.batch.store` (output folder layout),
:mod:`emoscope.tasks.batch.rows` (columns) and :mod:`emoscope.tasks.batch.engines` (local processes, Ray).
"""

from emoscope.tasks.batch.engines import LocalEngine, RayEngine
from emoscope.tasks.batch.manifest import Manifest
from emoscope.tasks.batch.rows import result_columns
from emoscope.tasks.batch.run import BatchSummary, load_job, read_manifest, read_results, run_batch
from emoscope.tasks.batch.walk import InputItem, Walk, collect_inputs
from emoscope.tasks.batch.worker import BatchSettings, Outcome, Worker

__all__ = [
    "BatchSettings",
    "BatchSummary",
    "InputItem",
    "LocalEngine",
    "Manifest",
    "Outcome",
    "RayEngine",
    "Walk",
    "Worker",
    "collect_inputs",
    "load_job",
    "read_manifest",
    "read_results",
    "result_columns",
    "run_batch",
]
