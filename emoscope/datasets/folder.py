"""Generic ``<root>/<class>/<image>`` folder of face crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emoscope.datasets.base import FaceSet, load_images
from emoscope.errors import DatasetError
from emoscope.labels import canonical

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".pgm", ".ppm"}


def load_folder(
    root: str | Path,
    classes: tuple[str, ...] | None = None,
    *,
    name_filter: str | None = None,
    skip_bad: bool = False,
) -> FaceSet:
    """Load ``root/<class>/<image>``.

    classes: expected class names in output order (canonical emotion names, or any folder names). When given,
        every class must have a folder (aliases such as ``happy`` for ``happiness`` are accepted). When None,
        the sorted folder names are the classes.
    name_filter: keep only files whose name starts with this prefix (FER2013's ``PublicTest_`` / ``PrivateTest_``).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder does not exist" if not root.exists() else f"{root}: not a folder")
    folders = {d.name: d for d in sorted(root.iterdir()) if d.is_dir()}
    if not folders:
        raise DatasetError(f"{root}: no class folders inside (expected <class>/<image> layout)")
    if classes is None:
        classes = tuple(folders)
        mapping = {c: folders[c] for c in classes}
    else:
        mapping = {}
        for c in classes:
            match = [d for n, d in folders.items() if n == c or _canon(n) == _canon(c)]
            if not match:
                raise DatasetError(f"{root}: missing class folder for {c!r} (found folders: {sorted(folders)})")
            mapping[c] = match[0]
    paths: list[str] = []
    labels: list[int] = []
    for k, c in enumerate(classes):
        files = sorted(
            f for f in mapping[c].iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
        )
        if name_filter:
            files = [f for f in files if f.name.startswith(name_filter)]
        paths += [str(f) for f in files]
        labels += [k] * len(files)
    if not paths:
        raise DatasetError(f"{root}: no image files found" + (f" starting with {name_filter!r}" if name_filter else ""))
    errors: list[tuple[str, str]] = []
    images, ok = load_images(paths, skip_bad, errors)
    return FaceSet(
        images=images,
        labels=np.asarray(labels, np.int64)[ok],
        classes=tuple(classes),
        paths=[p for p, g in zip(paths, ok, strict=True) if g],
        name=root.name,
        errors=errors,
    )


def _canon(name: str) -> str:
    try:
        return canonical(name)
    except KeyError:
        return name.lower()
