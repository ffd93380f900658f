"""Generated test data: learnable synthetic 'faces' written in the real dataset layouts.

Class k of K draws a bright horizontal bar at a class-specific height on a noisy background, so a small network
separates the classes within a few epochs. Nothing here comes from a research dataset.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

FER2013_FOLDERS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer2013.csv order


def synthetic_face(k: int, n_classes: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    img = rng.normal(100, 20, (size, size))
    row = int((k + 0.5) * size / n_classes)
    img[max(0, row - 2) : row + 3, 6:-6] += 110
    img += rng.normal(0, 10, (size, size))
    return np.clip(img, 0, 255).astype(np.uint8)


def write_fer2013_folder(root: Path, per_class: dict[str, int], seed: int = 0) -> Path:
    """FER2013 folder layout with ``per_class[split]`` images per class for split in Training/PublicTest/PrivateTest."""
    rng = np.random.default_rng(seed)
    n = 0
    for usage, count in per_class.items():
        sub = root / ("train" if usage == "Training" else "test")
        for k, cls in enumerate(FER2013_FOLDERS):
            d = sub / cls
            d.mkdir(parents=True, exist_ok=True)
            for _ in range(count):
                cv2.imwrite(str(d / f"{usage}_{n}.jpg"), synthetic_face(k, 7, rng), [cv2.IMWRITE_JPEG_QUALITY, 95])
                n += 1
    return root


def write_ferplus_folder(root: Path, per_split: dict[str, int], seed: int = 1) -> Path:
    """FER+ layout: FER2013{Train,Valid,Test}/fer*.png + label.csv, votes concentrated on the drawn class."""
    rng = np.random.default_rng(seed)
    n = 0
    for folder, count in per_split.items():
        d = root / folder
        d.mkdir(parents=True, exist_ok=True)
        lines = []
        for i in range(count):
            k = i % 8
            cv2.imwrite(str(d / f"fer{n:07d}.png"), synthetic_face(k, 8, rng))
            votes = [0] * 10
            votes[k] = 7
            votes[(k + 1) % 8] = 3
            lines.append(f'fer{n:07d}.png,"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
            n += 1
        (d / "label.csv").write_text("\n".join(lines) + "\n")
    return root
