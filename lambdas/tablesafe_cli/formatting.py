"""How durations, sizes and PITR read in the CLI's tables."""

from __future__ import annotations

from datetime import timedelta

from tablesafe.aws.tables import PitrState


def pitr_text(pitr: PitrState | None) -> str:
    """'on (35 d)', 'off', or '?' when it could not be read."""
    if pitr is None:
        return "?"
    return f"on ({pitr.recovery_period_days or 35} d)" if pitr.enabled else "off"


def format_age(age: timedelta) -> str:
    """A duration in its two largest units: '3d 4h', '5h 12m', '42m', '30s'."""
    seconds = max(0, int(age.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m"
    return f"{seconds}s"


def format_size(size: int) -> str:
    """Bytes in decimal units, as AWS bills them."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")
