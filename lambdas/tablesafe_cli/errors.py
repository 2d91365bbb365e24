"""The two ways a command ends badly: a wrong command line or configuration (exit 2), or a failed job (exit 1)."""

from __future__ import annotations


class UsageError(Exception):
    """The command line or the configuration is wrong (exit 2)."""


class Failure(Exception):
    """The command could not do its job (exit 1)."""


class Interrupted(Exception):
    """Ctrl-C; the message says what was left behind (exit 130)."""
