"""The API's answer to inputs it does not take: a TypeError or ValueError that says what it takes."""

import numpy as np
import pytest

from emoscope.api import ACCEPTED_IMAGES, Analyzer
from emoscope.tasks.expression.predictor import ExpressionRecognizer


@pytest.fixture(scope="module")
def analyzer(tiny_model):
    return Analyzer(ExpressionRecognizer(tiny_model, threads=1))


@pytest.mark.parametrize(
    "image, kind", [(b"\xff\xd8 jpeg bytes", "bytes"), (None, "NoneType"), ([1, 2], "list")]
)
@pytest.mark.parametrize("method", ["analyze", "analyze_aligned"])
def test_other_types_are_a_clear_type_error(analyzer, image, kind, method):
    with pytest.raises(TypeError) as info:
        getattr(analyzer, method)(image)
    msg = str(info.value)
    assert ACCEPTED_IMAGES in msg and f"got {kind}" in msg and "numpy array" in msg and "os.PathLike" in msg
    if kind == "bytes":
        assert "read_image_bytes" in msg


@pytest.mark.parametrize(
    "shape, words",
    [((5,), "got shape (5,)"), ((40, 40, 2), "(40, 40, 2)"), ((2, 40, 40, 3), "one image at a time")],
)
@pytest.mark.parametrize("method", ["analyze", "analyze_aligned"])
def test_arrays_of_other_shapes_are_a_clear_value_error(analyzer, shape, words, method):
    with pytest.raises(ValueError) as info:
        getattr(analyzer, method)(np.zeros(shape, np.uint8))
    msg = str(info.value)
    assert "(H, W) grey" in msg and "(H, W, 3) BGR" in msg and words in msg and "unpack" not in msg


def test_arrays_of_non_numbers_are_a_clear_value_error(analyzer):
    with pytest.raises(ValueError, match="must hold numbers.*got dtype <U1"):
        analyzer.analyze_aligned(np.full((40, 40), "a"))


@pytest.mark.parametrize("shape", [(48, 48), (48, 48, 1), (48, 48, 3), (48, 48, 4)])
def test_accepted_arrays_still_work(analyzer, shape):
    res = analyzer.analyze_aligned(np.full(shape, 128, np.uint8))
    assert len(res.faces) == 1 and res.faces[0].box == (0, 0, 48, 48)
