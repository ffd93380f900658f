"""argparse ``type`` functions shared by every command: numbers in a range (finite, never NaN), devices, lists.

Each raises :class:`argparse.ArgumentTypeError`, so a bad value is one usage error (exit 2) before any work.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def int_range(low: int, high: int | None = None):
    """An argparse ``type``: an integer in [``low``, ``high``]."""

    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if n < low or (high is not None and n > high):
            want = f">= {low}" if high is None else f"between {low} and {high}"
            raise argparse.ArgumentTypeError(f"must be {want}, got {n}")
        return n

    return parse


def float_range(low: float, high: float | None = None, low_open: bool = False, high_open: bool = True):
    """An argparse ``type``: a finite number in the range from ``low`` to ``high`` (open or closed ends)."""

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        bad_low = v <= low if low_open else v < low
        bad_high = high is not None and (v >= high if high_open else v > high)
        if bad_low or bad_high:
            lo = f"{'>' if low_open else '>='} {low}"
            want = lo if high is None else f"{lo} and {'<' if high_open else '<='} {high}"
            raise argparse.ArgumentTypeError(f"must be {want}, got {text}")
        return v

    return parse


def device(text: str) -> str:
    """An argparse ``type``: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, refused when that device is not
    available to the installed PyTorch."""
    import re

    if text in ("auto", "cpu"):
        return text
    m = re.fullmatch(r"(cuda|mps)(?::(\d+))?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; use auto, cpu, cuda, cuda:N or mps")
    try:
        import torch
    except ImportError:  # training itself reports the missing extra
        return text
    if m.group(1) == "cuda":
        if not torch.cuda.is_available():
            raise argparse.ArgumentTypeError(f"{text}: this PyTorch has no CUDA device (use cpu or auto)")
        if m.group(2) is not None and int(m.group(2)) >= torch.cuda.device_count():
            raise argparse.ArgumentTypeError(f"{text}: only {torch.cuda.device_count()} CUDA device(s)")
    elif not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise argparse.ArgumentTypeError(f"{text}: MPS is not available (use cpu or auto)")
    return text


def int_list(
    low: int | None = None, distinct: bool = False, example: str = "0,1,2"
) -> Callable[[str], list[int]]:
    """An argparse ``type``: comma-separated integers (each >= ``low`` when given; no repeats when ``distinct``)."""

    def parse(text: str) -> list[int]:
        try:
            values = [int(v) for v in text.split(",")]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be comma-separated integers, e.g. {example}, got {text!r}"
            ) from None
        if low is not None and any(v < low for v in values):
            raise argparse.ArgumentTypeError(f"every value must be >= {low}, got {text!r}")
        if distinct and len(set(values)) != len(values):
            raise argparse.ArgumentTypeError(f"repeats a value: {text!r}")
        return values

    return parse
