"""The error a user's own input raises: a file, a column or a model file noloop cannot use."""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """Input a user gave that noloop cannot use; the message names the file and what was expected.

    A ``ValueError``, so code that catches those catches this too; the command
    line prints it as one ``error:`` line.
    """
