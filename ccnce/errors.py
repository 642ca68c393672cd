"""Exceptions that carry an actionable, one-line message for the user.

The CLI turns any :class:`CcnceError` into ``ccnce: error: <message>`` and a non-zero exit code;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class CcnceError(Exception):
    """A user-facing error: bad input, bad configuration, missing data."""


class ConfigError(CcnceError):
    """A configuration value is invalid (names the field and what was expected)."""


class DataError(CcnceError):
    """A data file is missing, unreadable or malformed (names the file and, if any, the key)."""
