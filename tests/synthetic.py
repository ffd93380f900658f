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


MEGC_HEADER = "dataset,sub,filename_o,label,apex,imagename,sub_filename"


def synthetic_flow(k: int, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """A learnable ``(size, size, 3)`` float flow ``(u, v, strain)`` for micro class k (0 neg, 1 pos, 2 surprise):
    brows pulled down (v > 0 high up), mouth corners up and out (u anti-symmetric low down), brows raised (v < 0)."""
    u = rng.normal(0, 0.15, (size, size))
    v = rng.normal(0, 0.15, (size, size))
    top, low, mid = slice(size // 6, size // 3), slice(2 * size // 3, 5 * size // 6), size // 2
    if k == 0:
        v[top, size // 4 : 3 * size // 4] += 1.0
    elif k == 1:
        u[low, :mid] -= 1.0
        u[low, mid:] += 1.0
        v[low, :] -= 0.5
    else:
        v[top, :] -= 1.5
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
    strain = np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2)
    return np.stack([u, v, strain], axis=-1)


def normalise_flow_png(flow: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` float (u, v, strain) -> uint8 min-max normalised per channel, in OpenCV's BGR order for imwrite."""
    lo = flow.min(axis=(0, 1), keepdims=True)
    hi = flow.max(axis=(0, 1), keepdims=True)
    rgb = np.round((flow - lo) / np.maximum(hi - lo, 1e-9) * 255).astype(np.uint8)
    return np.ascontiguousarray(rgb[:, :, ::-1])


def write_megc2019_folder(
    root: Path, subjects: dict[str, list[str]], per_subject: int = 6, seed: int = 0, apex_size: int = 32
) -> Path:
    """MEGC2019 composite layout: the CSV, ``STSNet_whole_norm_u_v_os/<sub>_<filename_o> .png`` (28x28, R=u,
    G=v, B=strain) and ``combined_datasets_whole/<imagename>`` apex JPEGs. Labels cycle 0, 1, 2 per subject;
    SMIC rows name their apex image differently from their flow image, as in the real file."""
    rng = np.random.default_rng(seed)
    (root / "STSNet_whole_norm_u_v_os").mkdir(parents=True, exist_ok=True)
    (root / "combined_datasets_whole").mkdir(parents=True, exist_ok=True)
    lines = [MEGC_HEADER]
    for source, subs in subjects.items():
        for sub in subs:
            for i in range(per_subject):
                k = i % 3
                name = f"{sub}_{['ne', 'po', 'sur'][k]}_{i:02d}" if source == "smic" else f"EP{i:02d}_{k}f"
                image = f"{sub}_s1_{name[len(sub) + 1 :]}.jpg" if source == "smic" else f"{sub}_{name}.jpg"
                flow = normalise_flow_png(synthetic_flow(k, rng))
                assert cv2.imwrite(str(root / "STSNet_whole_norm_u_v_os" / f"{sub}_{name} .png"), flow)
                apex = synthetic_face(k, 3, rng, apex_size)
                assert cv2.imwrite(str(root / "combined_datasets_whole" / image), cv2.cvtColor(apex, cv2.COLOR_GRAY2BGR))
                lines.append(f"{source},{sub},{name},{k},,{image},")
    (root / "combined_3_class2_for_optical_flow.csv").write_text("\n".join(lines) + "\n")
    return root


def textured_face(seed: int = 0, size: int = 128) -> np.ndarray:
    """A float32 ``(size, size)`` grey face: the schematic face plus skin-like texture (optical flow needs texture)."""
    from emoscope.outputs.demo import schematic_face

    rng = np.random.default_rng(seed)
    face = cv2.cvtColor(cv2.resize(schematic_face("neutral"), (size, size)), cv2.COLOR_BGR2GRAY).astype(np.float32)
    tex = cv2.GaussianBlur(rng.normal(0, 1, (size, size)).astype(np.float32), (0, 0), 1.5 * size / 128)
    return np.clip(face + 25 * tex / tex.std(), 0, 255)


def micro_clip(
    n: int,
    events: list[tuple[int, int, tuple[float, float], tuple[float, float]]],
    macro: tuple[int, int, tuple[float, float], tuple[float, float]] | None = None,
    seed: int = 0,
    noise: float = 1.5,
    size: int = 128,
) -> np.ndarray:
    """``(n, size, size)`` uint8 aligned face frames with local movements of known timing.

    events: ``(onset, offset, (cx, cy), (dx, dy))``: a Gaussian patch (sigma 9 px) around ``(cx, cy)`` moves by
    ``(dx, dy)`` px at the apex (the middle frame) and back (raised cosine), as a micro-expression.
    macro: ``(start, ramp, (cx, cy), (dx, dy))``: a wider patch moves over ``ramp`` frames and STAYS moved.
    Every frame gets Gaussian sensor noise of ``noise`` grey levels.
    """
    rng = np.random.default_rng(seed + 100)
    base = textured_face(seed, size)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    frames = []
    for t in range(n):
        dx = np.zeros((size, size), np.float32)
        dy = np.zeros_like(dx)
        for on, off, (cx, cy), (ax, ay) in events:
            if on <= t <= off:
                a = 0.5 - 0.5 * np.cos(2 * np.pi * (t - on) / (off - on))
                m = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 9.0**2))
                dx += a * ax * m
                dy += a * ay * m
        if macro is not None:
            st, ramp, (cx, cy), (ax, ay) = macro
            a = float(np.clip((t - st) / ramp, 0, 1))
            m = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * 14.0**2))
            dx += a * ax * m
            dy += a * ay * m
        img = cv2.remap(base, xx - dx, yy - dy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        img = img + rng.normal(0, noise, img.shape)
        frames.append(np.clip(np.rint(img), 0, 255).astype(np.uint8))
    return np.stack(frames)
