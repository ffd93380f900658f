"""Compare face detector backends in the same conditions: recall / false detections and end-to-end speed.

For each detector spec, in interleaved rounds (so that every backend sees the same machine load):

- detection on the generated FER+ scenes of ``bench_face_detect.py`` (recall on faces of 48 px and more, false
  detections per picture, CPU ms per picture), on the first round only;
- end to end (``Analyzer.analyze``: detect + align + classify) on the 640x480 one-face scenes of
  ``bench_pipeline.py`` (FER+ test faces pasted at 80-160 px): images/s (wall clock) and CPU ms per image (process
  time, all threads), per round; the median over the rounds is printed.

A spec is ``NAME`` or ``NAME=JSON``: a registered backend (``dlib``, ``retinaface``) with keyword arguments, or
``path/to/file.py:Class`` / ``package.module:Class`` for a detector class outside emoscope (e.g. a throwaway wrapper
run in another virtual environment). Nothing is written anywhere.

    python benchmarks/bench_detectors.py dlib 'retinaface={"threads": 1}' [--rounds 3] [--seconds 5] [--json]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_face_detect import build_scenes, evaluate  # noqa: E402

from emoscope.api import Analyzer  # noqa: E402
from emoscope.datasets import load_ferplus  # noqa: E402
from emoscope.faces.detect import create_detector  # noqa: E402
from emoscope.faces.scenes import make_scene  # noqa: E402
from emoscope.tasks.expression.predictor import ExpressionRecognizer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def make_detector(spec: str):
    name, _, kw = spec.partition("=")
    kwargs = json.loads(kw) if kw else {}
    if ":" not in name:
        return create_detector(name, **kwargs)
    where, cls = name.rsplit(":", 1)
    if where.endswith(".py"):
        s = importlib.util.spec_from_file_location(Path(where).stem, where)
        mod = importlib.util.module_from_spec(s)
        s.loader.exec_module(mod)
    else:
        mod = importlib.import_module(where)
    return getattr(mod, cls)(**kwargs)


def speed_scenes(ferplus: str, n: int = 20) -> list[np.ndarray]:
    """The one-face 640x480 scenes of ``bench_pipeline.py`` (same recipe and seed)."""
    test = load_ferplus(ferplus, "test")
    test = test.subset(test.labels >= 0)
    rng = np.random.default_rng(0)
    return [make_scene([test.images[i] for i in rng.choice(len(test), 1, replace=False)], rng,
                       size_range=(80, 160), max_angle=10).image for _ in range(n)]  # fmt: skip


def speed(analyzer: Analyzer, scenes: list[np.ndarray], seconds: float) -> tuple[float, float]:
    """(images/s wall clock, CPU ms per image) of ``analyze`` over ``seconds``."""
    analyzer.analyze(scenes[0])
    k, t0, c0 = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - t0 < seconds or k < 10:
        analyzer.analyze(scenes[k % len(scenes)])
        k += 1
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return k / wall, 1000 * cpu / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("specs", nargs="+")
    ap.add_argument("--ferplus", default=str(ROOT.parent / "shared" / "data" / "ferplus"))
    ap.add_argument("--scenes", type=int, default=150, help="detection scenes (0: skip the detection part)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the detection scenes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="time per speed measurement")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the expression model")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    dets = {s: make_detector(s) for s in a.specs}
    rec = ExpressionRecognizer(threads=a.threads)
    analyzers = {s: Analyzer(rec, detector=d) for s, d in dets.items()}
    res: dict[str, dict] = {s: {"detector": repr(d)} for s, d in dets.items()}
    if a.scenes:
        scenes = build_scenes(Path(a.ferplus) / "FER2013Test", a.scenes, a.seed)
        for s, d in dets.items():
            d.detect(scenes[0].image)
            r = evaluate(d, scenes)
            res[s].update(
                {k: r[k] for k in ("recall_ge48", "recall_by_size", "false_per_image", "ms_cpu", "ms_wall")}
            )
    imgs = speed_scenes(a.ferplus)
    runs: dict[str, list[tuple[float, float]]] = {s: [] for s in dets}
    for _ in range(a.rounds):
        for s in dets:
            runs[s].append(speed(analyzers[s], imgs, a.seconds))
    for s in dets:
        res[s]["e2e_images_per_s"] = round(statistics.median(r[0] for r in runs[s]), 2)
        res[s]["e2e_cpu_ms_per_image"] = round(statistics.median(r[1] for r in runs[s]), 1)
        res[s]["e2e_rounds"] = [[round(x, 2), round(y, 1)] for x, y in runs[s]]
    out = {"cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
           "load_avg_end": os.getloadavg()[0] if hasattr(os, "getloadavg") else None, "results": res}  # fmt: skip
    if a.json:
        print(json.dumps(out))
        return
    for s, r in res.items():
        print(f"== {s}")
        for k, v in r.items():
            print(f"{k:>22}: {v}")
    print(f"cpus {out['cpus']}, load average at the end {out['load_avg_end']}")


if __name__ == "__main__":
    main()
