"""Assertion helpers shared by the bad-input and output-safety tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of ``folder`` (not recursive) by name, with its bytes: compare before and after a failed run."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def cli_error(capsys: pytest.CaptureFixture[str]) -> str:
    """The stderr of a CLI run that failed: one ``emoscope: error: ...`` message, no traceback."""
    err = capsys.readouterr().err
    assert err.startswith("emoscope: error: ") and "Traceback" not in err, err
    return err


def raises_naming(exc: type[BaseException], call: Callable[[], object], *words: str) -> BaseException:
    """``call()`` raises ``exc`` whose message holds every one of ``words``; returns the exception."""
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), f"{w!r} not in {str(info.value)!r}"
    return info.value


def argparse_error(capsys: pytest.CaptureFixture[str], argv: list[str], option: str) -> str:
    """``emoscope ARGV`` stops in argparse with exit status 2 on ``option``, no traceback; returns its stderr."""
    from emoscope.cli import main

    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"argument {option}" in err, err
    return err
