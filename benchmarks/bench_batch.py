"""Throughput of ``emoscope batch`` (local engine) with 1 and 2 workers: photos/s, video frames/s, memory per worker.

Generated inputs in a temporary folder: ``--images`` 640x480 photos (1-2 schematic faces of 100-180 px on a
generated background, PNG) and ``--videos`` 640x480 MJPG ``.avi`` clips of ``--frames`` frames (one moving face).
Photos and videos are separate jobs. For each number of workers, each job runs from scratch through
:func:`emoscope.tasks.batch.run_batch` (Parquet parts, manifest, final table: what the command does). Reported:

* rate: photos/s or video frames/s over the analysis span, from the job's manifest: from the start of the first
  input's analysis to the commit of the last input (models already loaded; commits included);
* wall: the whole job (listing, starting the workers and loading their models, analysis, commits, final table);
* CPU each: worker CPU time per photo / per frame (from the manifest): the same with 1 and 2 workers means the
  workers do not slow each other down, so the speed-up is what the free cores allow;
* peak RSS: the largest peak resident memory of a worker process (from the manifest; with 1 worker the job runs in
  the calling process, so it also holds the driver's share: pandas, pyarrow, the job's bookkeeping).

The load average of the machine (other processes) is printed before and after: on a shared machine the scaling
from 1 to 2 workers is lower than on an idle one.

    python benchmarks/bench_batch.py [--images 60] [--videos 4] [--frames 100] [--workers 1,2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from emoscope.faces.scenes import background
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.batch import BatchSettings, read_manifest, run_batch
from emoscope.tasks.video.synthetic import MovingFace, render_clip, write_clip

MOODS = ("smile", "frown", "surprise", "neutral")


def write_photos(folder: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = background(rng)
        for k in range(1 + i % 2):
            side = int(rng.integers(100, 180))
            x, y = 40 + k * 300 + int(rng.integers(0, 100)), int(rng.integers(20, 480 - side - 10))
            img[y : y + side, x : x + side] = schematic_face(MOODS[(i + k) % 4], side)
        cv2.imwrite(str(folder / f"photo_{i:04d}.png"), img)


def write_videos(folder: Path, n: int, frames: int, fps: float = 25.0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    secs = frames / fps
    for i in range(n):
        face = MovingFace(schematic_face(MOODS[i % 4], 192),
                          [(0, 150, 200, 140), (secs / 2, 480, 260, 150), (secs, 200, 240, 140)])  # fmt: skip
        clip, _ = render_clip([face], [k / fps for k in range(frames)], seed=i)
        write_clip(folder / f"clip_{i:03d}.avi", clip, fps)


def run(folder: Path, out: Path, workers: int, settings: BatchSettings, units: int) -> dict:
    t = time.perf_counter()
    s = run_batch(folder, out, settings=settings, workers=workers)
    wall = time.perf_counter() - t
    recs = list(read_manifest(out).values())
    # the analysis span, from the job's own records: first input started -> last input committed
    span = max(r["finished"] for r in recs) - min(r["finished"] - r["seconds"] for r in recs)
    rss: dict[str, float] = {}
    for r in recs:
        rss[r["worker"]] = max(rss.get(r["worker"], 0.0), r["peak_rss_mb"] or 0.0)
    return {"workers": workers, "inputs": s.total, "units": units, "errors": s.errors, "rows": s.total_rows,
            "wall_s": round(wall, 2), "span_s": round(span, 2), "overhead_s": round(wall - span, 2),
            "rate": round(units / max(span, 1e-9), 2), "workers_used": len(rss),
            "cpu_ms_per_unit": round(1000 * sum(r["cpu_seconds"] for r in recs) / units, 1),
            "peak_rss_mb": round(max(rss.values()), 1)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=60, help="generated 640x480 photos")
    ap.add_argument("--videos", type=int, default=4, help="generated 640x480 videos")
    ap.add_argument("--frames", type=int, default=100, help="frames per video")
    ap.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    ap.add_argument("--json", action="store_true", help="also print every figure as one JSON line")
    a = ap.parse_args()
    counts = [int(w) for w in a.workers.split(",")]
    settings = BatchSettings()
    load_before = os.getloadavg()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_photos(root / "photos", a.images)
        write_videos(root / "videos", a.videos, a.frames)
        for w in counts:
            for kind, folder, units in (("photos", root / "photos", a.images),
                                        ("video frames", root / "videos", a.videos * a.frames)):  # fmt: skip
                r = run(folder, root / f"out_{kind[0]}_{w}", w, settings, units)
                r["kind"] = kind
                results.append(r)
                print(f"{w} worker(s), {kind:12s}: {r['rate']:7.2f}/s  ({r['units']} in {r['span_s']:.1f} s; job "
                      f"{r['wall_s']:.1f} s with start-up and final table; {r['workers_used']} worker(s) used, "
                      f"peak RSS per worker {r['peak_rss_mb']:.0f} MB; {r['cpu_ms_per_unit']:.0f} ms CPU each)", flush=True)  # fmt: skip
    load_after = os.getloadavg()
    for kind in ("photos", "video frames"):
        rates = {r["workers"]: r["rate"] for r in results if r["kind"] == kind}
        if 1 in rates and len(rates) > 1:
            print(f"scaling, {kind}: " + ", ".join(f"{w} workers x{rates[w] / rates[1]:.2f}" for w in sorted(rates)
                                                   if w != 1))  # fmt: skip
    print(
        f"machine: {os.cpu_count()} CPUs; load average (1 min) {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    if a.json:
        print(json.dumps({"results": results, "cpus": os.cpu_count(), "load_before": load_before,
                          "load_after": load_after}))  # fmt: skip


if __name__ == "__main__":
    main()
