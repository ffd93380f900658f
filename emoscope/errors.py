"""Exception types. Every message names the file (or row) and what is wrong with it."""

from __future__ import annotations


class EmoscopeError(Exception):
    """Base class of all errors emoscope raises on purpose."""


class InputError(EmoscopeError, ValueError):
    """An input file (image, video) cannot be used: missing, empty, corrupt, too large, not an image."""

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class DatasetError(EmoscopeError, ValueError):
    """A dataset on disk does not have the expected layout or content."""
