"""Measure the framing of the MEGC2019 composite's face crops: where the eyes are in ``combined_datasets_whole``.

Its 28x28 flow images were computed on these crops, so :data:`emoscope.faces.align.MEGC2019_TEMPLATE` cuts a
user's onset and apex frames the same way before computing the flow.

    python benchmarks/megc_face_template.py --data ../shared/data/megc2019
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from emoscope.datasets.megc2019 import APEX_DIR
from emoscope.faces.detect import create_detector


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/megc2019")
    a = ap.parse_args()
    files = sorted(
        p for p in (Path(a.data) / APEX_DIR).iterdir() if p.suffix.lower() in (".jpg", ".png", ".bmp")
    )
    det = create_detector()
    mids, dists = [], []
    for f in files:
        img = cv2.imread(str(f))
        if img is None or img.shape[0] != img.shape[1]:
            continue
        found = det.detect(img)
        if not found:
            continue
        d, side = found[0], float(img.shape[0])
        mids.append(((d.right_eye + d.left_eye) / 2 + 0.5) / side)  # pixel centres -> fractions of the side
        dists.append(float(np.hypot(*(d.left_eye - d.right_eye))) / side)
    m, dist = np.asarray(mids), np.asarray(dists)
    q1, q3 = np.percentile(dist, [25, 75])
    print(f"{len(m)} of {len(files)} crops detected")
    print(f"eye midpoint x {np.median(m[:, 0]):.4f}  y {np.median(m[:, 1]):.4f}  "
          f"inter-ocular distance {np.median(dist):.4f} (IQR {q1:.3f}-{q3:.3f}) of the crop side")  # fmt: skip


if __name__ == "__main__":
    main()
