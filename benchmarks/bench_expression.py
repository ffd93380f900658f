"""Speed and memory of the shipped expression model on this CPU (ONNX Runtime).

Prints: model file size, single-face latency (median and p95 over repeated calls, 1 face per call, including the
shared preprocessing of a 48x48 crop), batched throughput (faces/s) and the peak resident memory of this process.

    python benchmarks/bench_expression.py [--model PATH.onnx] [--threads 2] [--batch 256] [--seconds 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time

import numpy as np

from emoscope.tasks.expression.predictor import DEFAULT_MODEL, ExpressionRecognizer


def _timeit(fn, seconds: float) -> list[float]:
    times = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rec = ExpressionRecognizer(a.model, threads=a.threads)
    rng = np.random.default_rng(0)
    one = [rng.integers(0, 256, (48, 48), dtype=np.uint8)]
    batch = rng.integers(0, 256, (a.batch, 48, 48), dtype=np.uint8)
    rec.predict_proba(one)
    rec.predict_proba(batch)  # warm-up
    lat = np.array(_timeit(lambda: rec.predict_proba(one), a.seconds)) * 1000
    bt = np.array(_timeit(lambda: rec.predict_proba(batch), a.seconds))
    res = {
        "model": a.model,
        "model_mb": round(os.path.getsize(a.model) / 1e6, 3),
        "threads": a.threads,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "latency_ms_median": round(float(np.median(lat)), 3),
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 3),
        "batch": a.batch,
        "throughput_faces_per_s": round(float(a.batch / np.median(bt)), 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:24s} {v}")


if __name__ == "__main__":
    main()
