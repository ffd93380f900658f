import argparse

import pytest

from emoscope.argtypes import float_range, int_list, int_range


def test_int_range_bounds_and_messages():
    assert int_range(1)("3") == 3
    assert int_range(0, 256)("256") == 256
    for text, words in [("0", "must be >= 1"), ("x", "not an integer")]:
        with pytest.raises(argparse.ArgumentTypeError, match=words):
            int_range(1)(text)
    with pytest.raises(argparse.ArgumentTypeError, match="between 0 and 256"):
        int_range(0, 256)("257")


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "x"])
def test_float_range_refuses_non_finite_and_non_numbers(text):
    with pytest.raises(argparse.ArgumentTypeError):
        float_range(0)(text)


def test_float_range_open_and_closed_ends():
    assert float_range(0)("0") == 0.0
    with pytest.raises(argparse.ArgumentTypeError, match="> 0"):
        float_range(0, low_open=True)("0")
    assert float_range(0, 1)("0.5") == 0.5
    with pytest.raises(argparse.ArgumentTypeError, match="< 1"):
        float_range(0, 1)("1")  # the high end is open by default


def test_int_list():
    assert int_list()("0,1,2") == [0, 1, 2]
    with pytest.raises(argparse.ArgumentTypeError, match="repeats"):
        int_list(distinct=True)("0,0")
    with pytest.raises(argparse.ArgumentTypeError, match=">= 1"):
        int_list(1)("8,0")
    with pytest.raises(argparse.ArgumentTypeError, match="comma-separated integers"):
        int_list()("a,b")
