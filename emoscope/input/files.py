"""What kind of file a path is, for inputs that must be regular files: devices (``/dev/zero`` never ends), FIFOs
(block until someone writes) and sockets are refused before anything reads them."""

from __future__ import annotations

import os
import stat


def special_kind(mode: int) -> str | None:
    """``'a device'``, ``'a FIFO (named pipe)'``, ``'a socket'`` or ``'a special file'`` for an ``st_mode`` that is
    neither a regular file nor a folder; ``None`` otherwise."""
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def not_regular_reason(path: str | os.PathLike) -> str:
    """Why ``path`` (which exists and is not a folder) is no input, e.g. ``"is a device, not a regular file"``."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return f"cannot be read ({e.strerror or e})"
    return f"is {special_kind(mode) or 'a special file'}, not a regular file"
