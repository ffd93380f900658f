"""Measure where the eyes are in FER2013's 48x48 framing: the template of :mod:`emoscope.faces.align`.

Runs the face detector (its small-picture path enlarges each 48x48 crop 4x and pads it) on a random sample of FER2013
training faces, keeps the best detection of each, and prints the medians of the eye centres, of their midpoint and of
the inter-ocular distance, as pixels of the 48 px crop (pixel-centre coordinates: the top-left pixel is at (0, 0)) and as
fractions of its side (``(px + 0.5) / 48``). With ``--landmarks 68`` it also prints
the mean face shape (nose, mouth corners in units of the inter-ocular distance, eye frame) used for
``emoscope.faces.detect.MEAN_SHAPE``.

    python benchmarks/fer_eye_template.py [--data ../shared/data/fer2013] [--n 3000] [--landmarks 5|68] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np

from emoscope.faces.detect import create_detector

ROOT = Path(__file__).resolve().parents[1]


def measure(data: Path, n: int, seed: int, landmarks: str) -> dict:
    files = sorted((data / "train").glob("*/*.jpg"))
    if not files:
        raise SystemExit(f"no FER2013 training images under {data / 'train'}")
    rng = np.random.default_rng(seed)
    files = [files[i] for i in rng.choice(len(files), min(n, len(files)), replace=False)]
    det = create_detector("dlib", landmarks=landmarks, min_score=0.5)
    pts, t0 = [], time.perf_counter()
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        found = det.detect(img)
        if found:
            pts.append(max(found, key=lambda d: d.score).landmarks)
    seconds = time.perf_counter() - t0
    p = np.array(pts, np.float64)  # (N, 5, 2) in pixels of the 48 px crop
    right, left = p[:, 0], p[:, 1]
    mid = (right + left) / 2
    vec = left - right
    iod = np.hypot(vec[:, 0], vec[:, 1])
    roll = -np.degrees(np.arctan2(vec[:, 1], vec[:, 0]))
    size = float(img.shape[0])
    out = {
        "faces": len(files),
        "detected": len(p),
        "ms_per_face": round(1000 * seconds / len(files), 1),
        "landmarks": landmarks,
        "crop_px": size,
        "right_eye_px": np.median(right, 0).round(2).tolist(),
        "left_eye_px": np.median(left, 0).round(2).tolist(),
        "eye_mid_px": np.median(mid, 0).round(2).tolist(),
        "iod_px": round(float(np.median(iod)), 2),
        "iod_iqr_px": np.quantile(iod, [0.25, 0.75]).round(2).tolist(),
        "roll_deg_median": round(float(np.median(roll)), 2),
        "roll_deg_abs_p50_p90": np.quantile(np.abs(roll), [0.5, 0.9]).round(2).tolist(),
        # fractions of the crop's extent: pixel centre px is at (px + 0.5) / size
        "template_fractions": {
            "eye_mid_x": round((float(np.median(mid[:, 0])) + 0.5) / size, 4),
            "eye_y": round((float(np.median(mid[:, 1])) + 0.5) / size, 4),
            "iod": round(float(np.median(iod)) / size, 4),
        },
    }
    # mean face shape in the eye frame (origin: eye midpoint, x along the eyes, unit: inter-ocular distance)
    ex = vec / iod[:, None]
    ey = np.stack([-ex[:, 1], ex[:, 0]], 1)
    shape = {}
    for k, name in enumerate(("nose", "mouth_right", "mouth_left"), start=2):
        rel = p[:, k] - mid
        shape[name] = [round(float(np.median((rel * ex).sum(1) / iod)), 3),
                       round(float(np.median((rel * ey).sum(1) / iod)), 3)]
    out["mean_shape_eye_frame"] = shape
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "fer2013")
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--landmarks", choices=("5", "68"), default="5")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = measure(a.data, a.n, a.seed, a.landmarks)
    if a.json:
        print(json.dumps(r))
        return
    for k, v in r.items():
        print(f"{k:>22}: {v}")


if __name__ == "__main__":
    main()
