"""Service-desk settings the use cases need, independent of where they are configured."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeskPolicy:
    ticket_prefix: str = "HD"
    process_key: str = "ticket_lifecycle"
    auto_close_after: str = "P5D"
    follow_up_after: str = "P7D"
    timer_batch_size: int = 200
