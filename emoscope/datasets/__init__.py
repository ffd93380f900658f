"""Dataset loaders: FER2013 (folders or fer2013.csv), FER+ (folders or fer2013new.csv), generic class folders,
the MEGC2019 micro-expression composite (optical flow + apex frames), the raw CASME II / SAMM / SMIC-HS clips."""

from emoscope.datasets.base import FaceSet, canonical_split
from emoscope.datasets.fer2013 import load_fer2013, load_fer2013_csv
from emoscope.datasets.ferplus import (
    load_ferplus,
    load_ferplus_csv,
    majority_labels,
    match_images,
    official_majority_labels,
    vote_distribution,
)
from emoscope.datasets.folder import load_folder
from emoscope.datasets.megc2019 import MicroSet, load_megc2019
from emoscope.datasets.micro_clips import (
    MicroClip,
    load_casme2,
    load_micro_clips,
    load_samm,
    load_smic,
    micro_label,
    read_frame,
    read_onset_apex,
)
from emoscope.errors import DatasetError

__all__ = [
    "FaceSet",
    "MicroClip",
    "MicroSet",
    "canonical_split",
    "load_casme2",
    "load_fer2013",
    "load_fer2013_csv",
    "load_ferplus",
    "load_ferplus_csv",
    "load_folder",
    "load_megc2019",
    "load_micro_clips",
    "load_samm",
    "load_smic",
    "majority_labels",
    "match_images",
    "micro_label",
    "official_majority_labels",
    "read_frame",
    "read_onset_apex",
    "vote_distribution",
]


def load_dataset(name: str, path: str, split: str, *, skip_bad: bool = False) -> FaceSet:
    """Load ``name`` (``fer2013``, ``ferplus`` or ``folder``) at ``path``; ``split`` is ignored for ``folder``."""
    if name == "fer2013":
        return load_fer2013(path, split, skip_bad=skip_bad)
    if name == "ferplus":
        return load_ferplus(path, split, skip_bad=skip_bad)
    if name == "folder":
        return load_folder(path, skip_bad=skip_bad)
    raise DatasetError(f"unknown dataset {name!r}; use fer2013, ferplus or folder")
