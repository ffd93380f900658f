"""Fixtures of the batch tests: the generated collection (:mod:`batch_collection`) and the reference results of a
single-worker run over it (Parquet, or JSON Lines without pyarrow)."""

from __future__ import annotations

from pathlib import Path

import pytest
from batch_collection import BAD, FMT, GOOD, write_collection

pytest.importorskip("dlib")


@pytest.fixture(scope="session")
def collection(tmp_path_factory) -> Path:
    return write_collection(tmp_path_factory.mktemp("batch") / "collection")


@pytest.fixture(scope="session")
def reference(collection, tmp_path_factory):
    """``(results DataFrame, output folder)`` of a single-worker run over :func:`collection`."""
    from emoscope.tasks.batch import read_results, run_batch

    out = tmp_path_factory.mktemp("batch") / "reference"
    s = run_batch(collection, out, fmt=FMT, workers=1)
    assert s.complete and s.processed == len(GOOD) + len(BAD)
    return read_results(out), out
