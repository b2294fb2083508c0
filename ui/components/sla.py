"""Time left until an SLA due time, as text with a colour that says how urgent it is."""

from __future__ import annotations

from datetime import datetime


def time_left(due: datetime | None, now: datetime) -> tuple[str, str]:
    """(text, colour name) — red when overdue or under an hour, orange under four hours."""
    if due is None:
        return "no target", "gray"
    seconds = (due - now).total_seconds()
    hours, rest = divmod(abs(int(seconds)), 3600)
    text = f"{hours} h {rest // 60:02d} min"
    if seconds < 0:
        return f"overdue {text}", "red"
    if seconds < 3600:
        return f"{text} left", "red"
    if seconds < 4 * 3600:
        return f"{text} left", "orange"
    return f"{text} left", "green"


def badge(due: datetime | None, now: datetime) -> str:
    text, colour = time_left(due, now)
    return f":{colour}-badge[{text}]"
