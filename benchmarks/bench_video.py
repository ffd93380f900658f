"""End-to-end speed of ``emoscope.analyze_video`` (decode + detect + track + classify) on generated 640x480 videos.

Clips of moving faces (1 and 3 faces, 120-160 px, crossing paths) on a generated background are encoded to MPEG-4
(``.mp4``, mp4v) in a temporary folder, then analysed from the file; frames/s = frames / wall time of the
``analyze_video`` call (models loaded and warmed up before); cpu_fps = frames / CPU time of this process during the
call (all its threads), the rate on an otherwise idle machine when the wall-clock rate is lowered by other work
(the load average is printed). The faces are the built-in schematic faces, or FER+
test faces (enlarged) with ``--ferplus`` when ``../shared/data/ferplus`` is there. ``--outputs`` also times the
run with the annotated video and the CSV written. Also printed: the ids found per clip (a stability check: 1 and 3
expected).

    python benchmarks/bench_video.py [--seconds 10] [--every 5] [--threads 1] [--ferplus] [--outputs] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from emoscope.api import Analyzer
from emoscope.outputs.demo import schematic_face
from emoscope.tasks.expression.predictor import ExpressionRecognizer
from emoscope.tasks.video import VideoAnalyzer
from emoscope.tasks.video.synthetic import MovingFace, render_clip, write_clip

ROOT = Path(__file__).resolve().parents[1]
FPS = 25.0


def _faces(n: int, pictures: list[np.ndarray], seconds: float) -> list[MovingFace]:
    """n faces on crossing paths across a 640x480 frame."""
    paths = [
        [(0, 120, 200, 150), (seconds / 2, 520, 240, 150), (seconds, 120, 220, 150)],
        [(0, 520, 300, 140), (seconds / 2, 120, 260, 140), (seconds, 520, 300, 140)],
        [(0, 320, 90, 120), (seconds / 2, 330, 380, 120), (seconds, 320, 90, 120)],
    ]
    return [MovingFace(pictures[i % len(pictures)], paths[i]) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each generated clip")
    ap.add_argument("--every", type=int, default=5, help="run the face detector every N frames")
    ap.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads")
    ap.add_argument("--ferplus", action="store_true", help="use FER+ test faces instead of schematic faces")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ferplus"))
    ap.add_argument("--outputs", action="store_true", help="also time with the annotated video and the CSV")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.ferplus:
        from emoscope.datasets import load_ferplus

        test = load_ferplus(a.data, "test")
        pictures = [test.images[i] for i in (0, 1, 2)]
    else:
        pictures = [schematic_face(m) for m in ("smile", "surprise", "frown")]
    analyzer = Analyzer(ExpressionRecognizer(threads=a.threads))
    va = VideoAnalyzer(analyzer, every=a.every)
    n_frames = int(round(a.seconds * FPS))
    res: dict = {"cores": os.cpu_count(), "every": a.every, "threads": a.threads, "frames": n_frames,
                 "faces_source": "ferplus" if a.ferplus else "schematic"}  # fmt: skip
    with tempfile.TemporaryDirectory() as d:
        for n_faces in (1, 3):
            frames, _ = render_clip(
                _faces(n_faces, pictures, a.seconds), [i / FPS for i in range(n_frames)], seed=0
            )
            clip = write_clip(Path(d) / f"clip{n_faces}.mp4", frames, FPS)
            del frames
            analyzer.analyze(np.zeros((480, 640, 3), np.uint8))  # warm up the detector and the model
            t0, c0 = time.perf_counter(), time.process_time()
            r = va.analyze(clip)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            res[f"fps_{n_faces}_face"] = round(len(r.frames) / dt, 1)
            res[f"cpu_fps_{n_faces}_face"] = round(len(r.frames) / cpu, 1)
            res[f"ids_{n_faces}_face"] = len(r.face_ids)
            res[f"seen_{n_faces}_face"] = round(sum(len(f.faces) for f in r.frames) / len(r.frames), 2)
            if a.outputs:
                t0, c0 = time.perf_counter(), time.process_time()
                r = va.analyze(clip, annotated=Path(d) / "annotated.mp4")
                r.to_csv(Path(d) / "timeline.csv")
                res[f"fps_{n_faces}_face_with_outputs"] = round(len(r.frames) / (time.perf_counter() - t0), 1)
                res[f"cpu_fps_{n_faces}_face_with_outputs"] = round(
                    len(r.frames) / (time.process_time() - c0), 1
                )
    res["load_average_1min"] = round(os.getloadavg()[0], 2)
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:28s} {v}")


if __name__ == "__main__":
    main()
