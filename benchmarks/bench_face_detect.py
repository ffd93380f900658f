"""Speed and recall of a face detector on generated 640x480 scenes of real faces.

Each scene pastes 2-6 FER+ test faces (48x48 grey crops, upscaled to 40-220 px, half of them tinted, rotated by up to
+-20 deg) onto a colour background with gradients, noise and distracting shapes (:mod:`emoscope.faces.scenes`). The
scenes are built in memory from ``../shared/data/ferplus/FER2013Test`` and never written anywhere.

Prints ms per picture (wall clock and process CPU time), recall (a true face counts as found when a detection
overlaps it with IoU >= 0.4) for faces of 48 px and more and by size, false detections per picture, and the median
IoU of the matches. ``--calibration`` also fits ``P(true face) = sigmoid(a * logit(score) + b)`` on the detections
(a = 1, b = 0 means the scores are calibrated on these scenes).

    python benchmarks/bench_face_detect.py [--scenes 150] [--detector default] [--kw '{"rotations": [0, -20, 20]}']
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from emoscope.faces.detect import create_detector
from emoscope.faces.scenes import box_iou, make_scene, match_detections

ROOT = Path(__file__).resolve().parents[1]


def build_scenes(data: Path, n: int, seed: int = 7, size_range=(40, 220)):
    files = sorted(data.glob("*.png"))
    if not files:
        raise SystemExit(f"no FER+ test images under {data}")
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        pick = rng.choice(len(files), int(rng.integers(2, 7)), replace=False)
        faces = [cv2.imread(str(files[i]), cv2.IMREAD_GRAYSCALE) for i in pick]
        scenes.append(make_scene(faces, rng, size_range=size_range))
    return scenes


def evaluate(detector, scenes, iou: float = 0.4) -> dict:
    wall = cpu = 0.0
    sizes, hits, ious, fps, scores, labels = [], [], [], 0, [], []
    for s in scenes:
        t, c = time.perf_counter(), time.process_time()
        found = detector.detect(s.image)
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        boxes = [d.box for d in found]
        match, n_false = match_detections(s.boxes, boxes, iou)
        fps += n_false
        for b, j in zip(s.boxes, match, strict=True):
            sizes.append(b[2])
            hits.append(j >= 0)
            if j >= 0:
                ious.append(box_iou(b, boxes[j]))
        matched = set(match)
        for j, d in enumerate(found):
            scores.append(d.score)
            labels.append(j in matched)
    sizes_a, hits_a = np.array(sizes), np.array(hits)

    def recall(lo, hi):
        sel = (sizes_a >= lo) & (sizes_a < hi)
        return round(float(hits_a[sel].mean()), 3) if sel.any() else None

    n = len(scenes)
    return {
        "scenes": n,
        "faces": len(sizes),
        "ms_wall": round(1000 * wall / n, 1),
        "ms_cpu": round(1000 * cpu / n, 1),
        "recall_ge48": recall(48, 10**9),
        "recall_by_size": {"40-47": recall(0, 48), "48-63": recall(48, 64), "64-99": recall(64, 100),
                           "100+": recall(100, 10**9)},
        "false_per_image": round(fps / n, 3),
        "median_iou": round(float(np.median(ious)), 3) if ious else None,
        "_scores": scores,
        "_labels": labels,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "ferplus" / "FER2013Test")
    ap.add_argument("--scenes", type=int, default=150)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--detector", default="default")
    ap.add_argument("--kw", default="{}", help="JSON keyword arguments for create_detector")
    ap.add_argument("--threads", type=int, default=0, help="OpenCV threads (0: OpenCV's default)")
    ap.add_argument("--calibration", action="store_true")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    if a.threads:
        cv2.setNumThreads(a.threads)
    scenes = build_scenes(a.data, a.scenes, a.seed)
    det = create_detector(a.detector, **json.loads(a.kw))
    det.detect(scenes[0].image)  # warm up
    r = evaluate(det, scenes)
    r["detector"] = repr(det)
    r["cpus"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    scores, labels = np.array(r.pop("_scores")), np.array(r.pop("_labels"))
    if a.calibration and len(set(labels.tolist())) == 2:
        from sklearn.linear_model import LogisticRegression

        p = np.clip(scores, 1e-6, 1 - 1e-6)
        lr = LogisticRegression(C=100.0).fit(np.log(p / (1 - p))[:, None], labels)
        r["calibration_a_b"] = [round(float(lr.coef_[0, 0]), 3), round(float(lr.intercept_[0]), 3)]
    if a.json:
        print(json.dumps(r))
    else:
        for k, v in r.items():
            print(f"{k:>16}: {v}")


if __name__ == "__main__":
    main()
