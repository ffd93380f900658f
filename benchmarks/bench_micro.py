"""Speed of the micro-expression path on this CPU: onset/apex pair end to end (face detection + alignment + TV-L1
flow + strain + network), the network alone, apex search and spotting (frames/s).

    python benchmarks/bench_micro.py [--repeat 20]

Inputs are generated (schematic face on a 640x480 canvas; textured face clips for spotting); no data needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic import micro_clip  # noqa: E402

from emoscope.faces.detect import create_detector  # noqa: E402
from emoscope.features import align_clip, find_apex, micro_input  # noqa: E402
from emoscope.outputs.demo import schematic_face  # noqa: E402
from emoscope.tasks.micro.predictor import MicroRecognizer  # noqa: E402
from emoscope.tasks.micro.spotting import spot  # noqa: E402


def _scene(mood: str) -> np.ndarray:
    img = np.full((480, 640, 3), 128, np.uint8)
    img[140:332, 220:412] = schematic_face(mood)
    return img


def timed(fn, repeat: int) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t0) / repeat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    rec = MicroRecognizer()
    det = create_detector()
    onset, apex = _scene("neutral"), _scene("smile")
    clip = align_clip([onset, apex], detector=det)
    print(f"model {rec.model_path.name} ({rec.meta['model_name']}), repeat {a.repeat}")
    t = timed(lambda: rec.analyze_pair(onset, apex, detector=det), a.repeat)
    print(f"pair end to end (640x480, detect + align + TV-L1 + net): {t * 1e3:7.1f} ms")
    t = timed(lambda: align_clip([onset, apex], detector=det), a.repeat)
    print(f"  detect + align both frames:                      {t * 1e3:7.1f} ms")
    t = timed(lambda: micro_input(clip.frames[0], clip.frames[1], "tvl1"), a.repeat)
    print(f"  TV-L1 flow + strain + input (128 px crops):      {t * 1e3:7.1f} ms")
    t = timed(lambda: micro_input(clip.frames[0], clip.frames[1], "farneback"), a.repeat)
    print(f"  Farneback flow + strain + input (128 px crops):  {t * 1e3:7.1f} ms")
    x = micro_input(clip.frames[0], clip.frames[1]).input
    t = timed(lambda: rec.predict_proba(x), a.repeat * 10)
    print(f"  network (ONNX Runtime, one input):               {t * 1e3:7.3f} ms")
    batch = np.repeat(x[None], 256, axis=0)
    t = timed(lambda: rec.predict_proba(batch), a.repeat)
    print(f"  network batched: {256 / t:,.0f} inputs/s")
    frames = micro_clip(300, [(100, 125, (45.0, 98.0), (1.2, -1.2))])
    t = timed(lambda: find_apex(frames[:60]), max(1, a.repeat // 10))
    print(f"apex search: {60 / t:,.0f} frames/s")
    t = timed(lambda: spot(frames, 100.0), max(1, a.repeat // 10))
    print(f"spotting (aligned 128 px crops, 100 fps clip): {len(frames) / t:,.0f} frames/s")


if __name__ == "__main__":
    main()
