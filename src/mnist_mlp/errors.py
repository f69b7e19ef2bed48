"""The project's own error types: each message is one line naming the file or param."""

from __future__ import annotations

import reprlib
from typing import Any


class PipelineError(Exception):
    """Base class for every error a stage reports to the user as a one-line message."""


class DataError(PipelineError):
    """An input file is malformed: bad gzip, bad IDX header, wrong shape or label range."""


class FetchError(PipelineError):
    """A file could not be downloaded and verified from any source."""


class ParamsError(PipelineError):
    """``params.yaml`` is missing a section, has an unknown key or an invalid value."""


class ModelFileError(PipelineError):
    """A saved model file is corrupt, tampered with, or holds types we do not trust."""


_BRIEF = reprlib.Repr()
_BRIEF.maxlevel = 3
_BRIEF.maxstring = _BRIEF.maxother = 60
_BRIEF_CHARS = 100


def brief(value: Any) -> str:
    """``repr(value)`` for an error message: bounded in length, and in time to compute.

    A value from ``params.yaml`` can be huge (a long string, a deeply nested list, a YAML
    alias bomb): :mod:`reprlib` looks at only the first few items of each level, so the
    message stays one short line however large the value is.
    """
    text = " ".join(_BRIEF.repr(value).split())
    return text if len(text) <= _BRIEF_CHARS else text[: _BRIEF_CHARS - 3] + "..."


def reason(exc: BaseException, limit: int = 200) -> str:
    """The first line of another library's error message, cut to ``limit`` characters.

    Such messages can quote what they were given (scikit-learn quotes the bad value, a
    server its own status line), so they are bounded like :func:`brief` values.
    """
    lines = str(exc).splitlines()
    text = lines[0] if lines and lines[0] else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."
