"""The ``emoscope batch`` command: analyse a folder (or a list) of images and videos into a results folder,
resumably, with local worker processes or on Ray.

Registered by :mod:`emoscope.cli` (``add_parser`` / ``run``); kept here so that the batch options live with the
batch code.
"""

from __future__ import annotations

import argparse
import json
import sys

from emoscope.argtypes import float_range, int_range
from emoscope.tasks.batch.run import MAX_WORKERS
from emoscope.tasks.batch.worker import MAX_THREADS
from emoscope.tasks.video.analyze import DEFAULT_EVERY, DEFAULT_SMOOTHING


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "batch",
        help="analyse a large collection of images and videos into Parquet / JSON Lines, resumably, locally or on Ray",
        description="Every face of every image and video frame, one row each, written to RESULTS/results.parquet "
        "(or .jsonl). Each input is committed as it finishes and recorded in RESULTS/manifest.jsonl (ok / error, "
        "rows, seconds): re-running the same command after a crash or Ctrl-C resumes where it stopped.",
    )
    p.add_argument("input", metavar="INPUT_DIR_OR_LIST",
                   help="a folder (searched recursively for images and videos) or a text file with one path per line")  # fmt: skip
    p.add_argument(
        "--out", required=True, metavar="RESULTS", help="results folder (created; reuse it to resume)"
    )
    p.add_argument(
        "--format", choices=["parquet", "jsonl"], default="parquet", help="output format (default parquet)"
    )
    p.add_argument("--workers", type=int_range(1, MAX_WORKERS), metavar="N",
                   help="worker processes (local; default 1; at most 4 per CPU) or Ray actors (default: one per CPU "
                   f"of the cluster); at most {MAX_WORKERS}")  # fmt: skip
    p.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="local: this machine (ProcessPoolExecutor); ray: a Ray cluster or a local Ray instance")  # fmt: skip
    p.add_argument("--address", metavar="ADDR",
                   help="Ray cluster to join (auto, ray://HEAD:10001, HEAD:6379); default: start a local Ray instance")  # fmt: skip
    p.add_argument(
        "--retry-errors", action="store_true", help="redo the inputs whose last outcome was an error"
    )
    every_help = (
        f"videos: run the face detector every N analysed frames, track in between (default {DEFAULT_EVERY})"
    )
    p.add_argument("--every", type=int, default=DEFAULT_EVERY, metavar="N", help=every_help)
    p.add_argument("--frame-step", type=int, default=1, metavar="K",
                   help="videos: analyse every K-th frame (default 1: all); frame numbers stay the video's")  # fmt: skip
    p.add_argument("--smooth", type=float_range(0), default=DEFAULT_SMOOTHING, metavar="SECONDS",
                   help=f"videos: time constant of the probability smoothing (default {DEFAULT_SMOOTHING}; 0 = off)")  # fmt: skip
    p.add_argument("--max-frames", type=int, metavar="N", help="videos: analyse at most N frames of each")
    p.add_argument("--model", help="an exported .onnx expression model (default: the shipped one)")
    p.add_argument("--head", help="label set: ferplus (8 emotions, default) or fer2013 (7)")
    p.add_argument("--affect", action=argparse.BooleanOptionalAction, default=None,
                   help="compound label, intensity, valence/arousal per face (default: when the model has them)")  # fmt: skip
    p.add_argument("--va-model", help="valence/arousal .onnx; default: DERIVED from the emotions")
    p.add_argument("--threads", type=int_range(0, MAX_THREADS), default=1,
                   help=f"ONNX Runtime threads per worker (default 1; at most {MAX_THREADS})")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.add_argument("--json", action="store_true", help="print the run's summary as one JSON line")
    return p


def run(a: argparse.Namespace) -> int:
    """Run ``emoscope batch``. Exit status: 0 every input finished (some may be errors, see the manifest); 1 every
    input of the job failed; 2 bad arguments; 130 interrupted (re-run the same command to resume)."""
    from emoscope.tasks.batch.run import run_batch
    from emoscope.tasks.batch.worker import BatchSettings

    try:
        settings = BatchSettings(model=a.model, head=a.head, threads=a.threads, affect=a.affect,
                                 va_model=a.va_model, every=a.every, smoothing=a.smooth, frame_step=a.frame_step,
                                 max_frames=a.max_frames)  # fmt: skip
    except ValueError as e:
        print(f"emoscope: error: {e}", file=sys.stderr)
        return 2
    if a.address and a.engine != "ray":
        print("emoscope: error: --address needs --engine ray", file=sys.stderr)
        return 2
    s = run_batch(a.input, a.out, settings=settings, fmt=a.format, workers=a.workers, engine=a.engine,
                  address=a.address, retry_errors=a.retry_errors, progress=not a.quiet)  # fmt: skip
    for warning in s.warnings:
        print(f"emoscope: warning: {warning}", file=sys.stderr)
    if a.json:
        print(json.dumps(s.to_dict()))
    else:
        ignored = f"; {s.ignored} other files ignored" if s.ignored else ""
        partly = f" ({s.partial} read only partly)" if s.partial else ""
        print(f"{a.input}: {s.total} inputs ({s.skipped} finished before{ignored}); this run: {s.processed} analysed, "
              f"{s.ok} ok{partly}, {s.errors} errors, {s.rows} rows, {s.seconds:.1f} s")  # fmt: skip
        for key, msg in s.error_list[:20]:
            print(f"  error: {key}: {msg}")
        if len(s.error_list) > 20:
            print(f"  ... {len(s.error_list) - 20} more errors: see {s.out}/manifest.jsonl")
        for key, msg in s.partial_list[:20]:
            print(f"  read only partly: {key}: {msg}")
        if len(s.partial_list) > 20:
            print(
                f"  ... {len(s.partial_list) - 20} more read only partly: see {s.out}/manifest.jsonl (problems)"
            )
        if s.complete:
            print(f"wrote {s.output} ({s.total_rows} rows; {s.job_ok} inputs ok, {s.job_errors} errors); manifest "
                  f"{s.out}/manifest.jsonl")  # fmt: skip
    if s.interrupted:
        print(f"emoscope: interrupted: {s.processed} inputs were analysed and kept; re-run the same command to resume",
              file=sys.stderr)  # fmt: skip
        return 130
    return 1 if s.total > 0 and s.job_ok == 0 else 0
