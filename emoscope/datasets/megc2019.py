"""The MEGC2019 composite micro-expression set (CASME II + SAMM + SMIC-HS, 3 classes), as distributed with
STSTNet: one row per sample in ``combined_3_class2_for_optical_flow.csv``.

Layout of ``root``::

    combined_3_class2_for_optical_flow.csv     dataset,sub,filename_o,label,apex,imagename,sub_filename
    STSNet_whole_norm_u_v_os/<sub>_<filename_o> .png    (a space before ".png") 28x28 RGB: R=u, G=v, B=strain
    combined_datasets_whole/<imagename>                 the apex frame, face-cropped, 224x224 RGB JPEG

The flow images hold the onset->apex optical flow: horizontal flow ``u``, vertical flow ``v`` and the optical
strain, each min-max normalised per image to 0..255. OpenCV decodes them as BGR, so the loader reverses the
channel axis to get ``(u, v, strain)``. Verified on the real files: the blue channel is the strain (non-negative
and right-skewed, median 14 of 255, and it correlates at 0.85 with the strain magnitude computed from the
spatial derivatives of the red and green channels), the red channel is left-right anti-symmetric about the
face's midline (mirror correlation -0.19: horizontal motion) and the green one symmetric (+0.57: vertical motion).

Subjects are numbered per source set (``sub01``, ``006``, ``s01``), so the subject id is made unique as
``"<dataset>/<sub>"`` (68 subjects). Labels: 0 negative, 1 positive, 2 surprise (:data:`MICRO_CLASSES`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from emoscope.datasets.micro_clips import read_frame
from emoscope.errors import DatasetError
from emoscope.labels import MICRO_CLASSES

CSV_NAME = "combined_3_class2_for_optical_flow.csv"
FLOW_DIR = "STSNet_whole_norm_u_v_os"
APEX_DIR = "combined_datasets_whole"
FLOW_SIZE = 28
SOURCES: tuple[str, ...] = ("casme2", "samm", "smic")
_COLUMNS = ("dataset", "sub", "filename_o", "label", "imagename")


@dataclass
class MicroSet:
    """Micro-expression samples held in memory.

    flow: ``(N, 3, 28, 28)`` float32 in ``[0, 1]``, channels ``(u, v, strain)``; ``u`` and ``v`` are min-max
        normalised per image, so zero motion is near the image's median, not at 0.5.
    labels: ``(N,)`` int64 index into ``classes``.
    subjects: ``(N,)`` str, unique across source sets (``"casme2/sub01"``).
    sources: ``(N,)`` str, the source set of each sample (``casme2``, ``samm``, ``smic``).
    names: ``(N,)`` str sample names (``"casme2/sub01/EP02_01f"``).
    apex: ``(N, S, S)`` uint8 grey or ``(N, S, S, 3)`` uint8 RGB apex frames, or None when not loaded.
    paths: the flow file of each sample.
    """

    flow: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray
    sources: np.ndarray
    names: np.ndarray
    apex: np.ndarray | None = None
    classes: tuple[str, ...] = MICRO_CLASSES
    paths: list[str] = field(default_factory=list)
    name: str = "megc2019"

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask_or_index: np.ndarray) -> MicroSet:
        """A new MicroSet with the selected rows (boolean mask or integer index)."""
        idx = np.asarray(mask_or_index)
        idx = np.flatnonzero(idx) if idx.dtype == bool else idx.astype(np.intp)
        return MicroSet(
            flow=self.flow[idx],
            labels=self.labels[idx],
            subjects=self.subjects[idx],
            sources=self.sources[idx],
            names=self.names[idx],
            apex=None if self.apex is None else self.apex[idx],
            classes=self.classes,
            paths=[self.paths[i] for i in idx] if self.paths else [],
            name=self.name,
        )

    def class_counts(self) -> dict[str, int]:
        """Number of samples per class."""
        counts = np.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts, strict=True)}

    def source_counts(self) -> dict[str, int]:
        """Number of samples per source set."""
        names, counts = np.unique(self.sources, return_counts=True)
        return {str(s): int(n) for s, n in zip(names, counts, strict=True)}

    def subject_ids(self) -> list[str]:
        """The distinct subject ids, sorted."""
        return sorted({str(s) for s in self.subjects})


def flow_file_name(sub: str, filename_o: str) -> str:
    """Name of the flow image of one sample: ``f"{sub}_{filename_o} .png"`` (the space is in the real files)."""
    return f"{sub}_{filename_o} .png"


def read_flow(path: str | Path, size: int = FLOW_SIZE) -> np.ndarray:
    """Read one flow image as ``(3, size, size)`` float32 in ``[0, 1]``, channels ``(u, v, strain)``.

    The file is an 8- or 16-bit RGB image (R=u, G=v, B=strain); OpenCV's BGR order is reversed here. Raises
    :class:`DatasetError` naming the file when it is missing, unreadable, not 3-channel or not ``size x size``.
    """
    p = Path(path)
    try:
        data = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise DatasetError(f"{p}: flow image cannot be read ({e.strerror or e})") from e
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise DatasetError(f"{p}: not a readable image (empty or corrupt file)")
    if img.ndim != 3 or img.shape[2] != 3:
        channels = 1 if img.ndim == 2 else img.shape[2]
        raise DatasetError(f"{p}: flow image must have 3 channels (u, v, strain), it has {channels}")
    if img.shape[:2] != (size, size):
        raise DatasetError(f"{p}: flow image must be {size}x{size}, it is {img.shape[1]}x{img.shape[0]}")
    if img.dtype not in (np.uint8, np.uint16):
        raise DatasetError(f"{p}: flow image must be 8- or 16-bit, it is {img.dtype}")
    scale = float(np.iinfo(img.dtype).max)
    rgb = img[:, :, ::-1]  # BGR -> RGB = (u, v, strain)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1), dtype=np.float32) / scale


def read_apex(path: str | Path, size: int, colour: bool = False) -> np.ndarray:
    """Read one apex frame resized to ``(size, size)`` uint8 grey, or ``(size, size, 3)`` RGB with ``colour``."""
    if not Path(path).is_file():
        raise DatasetError(f"{path}: apex image is missing")
    return read_frame(path, size=size, colour=colour)


def load_megc2019(
    root: str | Path,
    *,
    apex_size: int | None = None,
    apex_colour: bool = False,
    sources: Sequence[str] | None = None,
) -> MicroSet:
    """Load the MEGC2019 composite from ``root`` (the folder holding the CSV and the two image folders).

    apex_size: also load the apex frames, resized to ``apex_size`` pixels (grey, or RGB with ``apex_colour``);
        None (default) skips them (only the flow is needed for the flow models).
    sources: keep only these source sets (``casme2``, ``samm``, ``smic``); None keeps all.

    Raises :class:`DatasetError` naming the file, or ``file:row``, for a missing folder or file, a malformed row
    (missing field, unknown source set, label outside 0..2, duplicate sample) and a flow image of the wrong layout.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: MEGC2019 folder does not exist (expected {CSV_NAME} and {FLOW_DIR}/ inside)")
    csv_path = root / CSV_NAME
    if not csv_path.is_file():
        raise DatasetError(f"{root}: not a MEGC2019 folder: {CSV_NAME} is missing")
    if not (root / FLOW_DIR).is_dir():
        raise DatasetError(f"{root}: not a MEGC2019 folder: {FLOW_DIR}/ is missing")
    if apex_size is not None and not (root / APEX_DIR).is_dir():
        raise DatasetError(f"{root}: {APEX_DIR}/ is missing (needed for the apex frames)")
    keep = None if sources is None else {s.lower() for s in sources}
    if keep is not None and not keep <= set(SOURCES):
        raise DatasetError(f"unknown source set(s) {sorted(keep - set(SOURCES))}; known: {list(SOURCES)}")

    flows, apexes, labels, subjects, srcs, names, paths = [], [], [], [], [], [], []
    seen: dict[str, str] = {}
    with open(csv_path, newline="") as f:
        reader = csv.reader(f)
        header = [h.strip().lower() for h in next(reader, [])]
        missing = [c for c in _COLUMNS if c not in header]
        if missing:
            raise DatasetError(f"{csv_path}: header lacks column(s) {missing}; expected {','.join(_COLUMNS)}, ...")
        col = {c: header.index(c) for c in _COLUMNS}
        for row_no, row in enumerate(reader, start=2):
            loc = f"{csv_path}:{row_no}"
            if not any(cell.strip() for cell in row):
                continue
            if len(row) < len(header):
                raise DatasetError(f"{loc}: malformed row: {len(row)} columns, the header has {len(header)}")
            rec = {c: row[i].strip() for c, i in col.items()}
            empty = [c for c in ("dataset", "sub", "filename_o", "label") if not rec[c]]
            if empty:
                raise DatasetError(f"{loc}: malformed row: empty {', '.join(empty)}")
            src = rec["dataset"].lower()
            if src not in SOURCES:
                raise DatasetError(f"{loc}: unknown dataset {rec['dataset']!r}; expected one of {list(SOURCES)}")
            try:
                label = int(rec["label"])
            except ValueError:
                label = -1
            if not 0 <= label < len(MICRO_CLASSES):
                raise DatasetError(f"{loc}: label {rec['label']!r} is not 0, 1 or 2 (negative, positive, surprise)")
            name = f"{src}/{rec['sub']}/{rec['filename_o']}"
            if name in seen:
                raise DatasetError(f"{loc}: duplicate sample {name} (first at {seen[name]})")
            seen[name] = loc
            if keep is not None and src not in keep:
                continue
            flow_path = root / FLOW_DIR / flow_file_name(rec["sub"], rec["filename_o"])
            if not flow_path.is_file():
                hint = flow_path.with_name(flow_path.name.replace(" .png", ".png"))
                extra = f" ({hint.name} exists: the files must be named with a space before .png)" if hint.is_file() else ""
                raise DatasetError(f"{loc}: flow image {flow_path} is missing{extra}")
            flows.append(read_flow(flow_path))
            if apex_size is not None:
                if not rec["imagename"]:
                    raise DatasetError(f"{loc}: malformed row: empty imagename (needed for the apex frame)")
                apexes.append(read_apex(root / APEX_DIR / rec["imagename"], apex_size, apex_colour))
            labels.append(label)
            subjects.append(f"{src}/{rec['sub']}")
            srcs.append(src)
            names.append(name)
            paths.append(str(flow_path))
    if not labels:
        raise DatasetError(f"{csv_path}: no samples" + (f" from {sorted(keep)}" if keep else ""))
    return MicroSet(
        flow=np.stack(flows),
        labels=np.asarray(labels, np.int64),
        subjects=np.asarray(subjects, dtype=str),
        sources=np.asarray(srcs, dtype=str),
        names=np.asarray(names, dtype=str),
        apex=np.stack(apexes) if apex_size is not None else None,
        paths=paths,
    )
