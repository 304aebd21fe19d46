"""Durations and sizes as Docker shows them (go-units), for the daemon's answers and the CLI's tables."""

from __future__ import annotations


def human_duration(seconds: float) -> str:
    """go-units' HumanDuration: 'Less than a second', '3 seconds', 'About a minute', '2 hours'…"""
    whole = int(seconds)
    if whole < 1:
        return "Less than a second"
    if whole == 1:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    minutes = whole // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def human_size(size: float, precision: int = 4) -> str:
    """Decimal units, as go-units' HumanSizeWithPrecision (docker's tables use precision 3)."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if size < 1000:
            return f"{size:.{precision}g}{unit}"
        size /= 1000
    return f"{size:.{precision}g}EB"
