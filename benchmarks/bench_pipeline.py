"""End-to-end speed and accuracy of ``emoscope.analyze`` (detect -> align -> classify) on generated photos.

Speed: 640x480 scenes with 1 and with 5 faces (FER+ test faces pasted at 80-160 px), images/s over repeated calls.
Accuracy through the pipeline: each FER+ test face (majority label) is pasted, enlarged to 64-200 px, rotated up to
+-15 deg, onto its own 640x480 scene; the detection that overlaps it (IoU >= 0.4) is classified with the default
(FER+) head. Printed: detection recall, accuracy over the detected faces, accuracy counting missed faces as wrong,
and the crop accuracy of the same model on the same faces (no detection, the 48x48 crop as given).
The scenes are built in memory from ``../shared/data/ferplus/FER2013Test`` and never written anywhere.

    python benchmarks/bench_pipeline.py [--faces 600] [--seconds 10] [--threads 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from emoscope.api import Analyzer
from emoscope.datasets import load_ferplus
from emoscope.faces.scenes import box_iou, make_scene
from emoscope.tasks.expression.predictor import ExpressionRecognizer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ferplus"))
    ap.add_argument("--faces", type=int, default=600, help="FER+ test faces for the accuracy run (0 = skip)")
    ap.add_argument("--seconds", type=float, default=10.0, help="time per speed measurement")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    test = load_ferplus(a.data, "test")
    test = test.subset(test.labels >= 0)
    analyzer = Analyzer(ExpressionRecognizer(threads=a.threads))
    rng = np.random.default_rng(0)
    res: dict = {"threads": a.threads, "cores": os.cpu_count()}
    for n_faces in (1, 5):
        scenes = [make_scene([test.images[i] for i in rng.choice(len(test), n_faces, replace=False)], rng,
                             size_range=(80, 160), max_angle=10).image for _ in range(20)]  # fmt: skip
        analyzer.analyze(scenes[0])
        k, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < a.seconds or k < 20:
            analyzer.analyze(scenes[k % len(scenes)])
            k += 1
        res[f"images_per_s_{n_faces}_face"] = round(k / (time.perf_counter() - t0), 2)
    if a.faces:
        idx = rng.choice(len(test), min(a.faces, len(test)), replace=False)
        found = right = 0
        for i in idx:
            sc = make_scene([test.images[i]], rng, size_range=(64, 200), max_angle=15)
            if not sc.boxes:
                continue
            faces = analyzer.analyze(sc.image).faces
            best = max(faces, key=lambda f: box_iou(f.box, sc.boxes[0]), default=None)
            if best is not None and box_iou(best.box, sc.boxes[0]) >= 0.4:
                found += 1
                right += best.label == test.classes[test.labels[i]]
        crop_pred = analyzer.recognizer.predict_proba(test.images[idx]).argmax(1)
        res.update(
            faces=len(idx),
            detection_recall=round(found / len(idx), 4),
            pipeline_accuracy_detected=round(right / max(found, 1), 4),
            pipeline_accuracy_all=round(right / len(idx), 4),
            crop_accuracy_same_faces=round(float((crop_pred == test.labels[idx]).mean()), 4),
        )
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:30s} {v}")


if __name__ == "__main__":
    main()
