"""A small generated MEGC2019 composite (7 subjects of the 3 source sets, 9 samples each) for the LOSO tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic import write_megc2019_folder

from emoscope.datasets import MicroSet, load_megc2019

SUBJECTS = {"casme2": ["sub01", "sub02", "sub03"], "samm": ["006", "007"], "smic": ["s01", "sub01"]}


@pytest.fixture(scope="module")
def megc(tmp_path_factory) -> Path:
    return write_megc2019_folder(tmp_path_factory.mktemp("data") / "megc2019", SUBJECTS, per_subject=9)


@pytest.fixture(scope="module")
def data(megc: Path) -> MicroSet:
    return load_megc2019(megc)
