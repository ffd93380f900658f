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


class ModelError(EmoscopeError, ValueError):
    """An expression model (``.onnx`` or its ``.json`` metadata) or a model option cannot be used; the message
    names the file and what is wrong."""

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __str__(self) -> str:  # KeyError would quote the message
        return f"{self.path}: {self.problem}"


class ModelNotFoundError(ModelError, FileNotFoundError):
    """The model or its metadata file does not exist (also a :class:`FileNotFoundError`, as before)."""


class UnknownHeadError(ModelError, KeyError):
    """The model has no head of the requested name (also a :class:`KeyError`, as before)."""


class OutputError(EmoscopeError, OSError):
    """An output file or folder cannot be written: the message names the target and what is wrong. Also an
    :class:`OSError`, so code that caught the plain error still catches it."""

    def __init__(self, path: object, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"
