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
    service_task_retries: int = 3
    """Automatic attempts after a failed service task's first one, before it is an incident."""
    service_task_backoff_seconds: float = 30.0
    """Wait before the first retry; each further retry waits twice as long as the one before."""

    def retry_delay_seconds(self, failed_attempts: int) -> float | None:
        """How long to wait after ``failed_attempts`` failures; None when none are left."""
        if failed_attempts > self.service_task_retries:
            return None
        return float(self.service_task_backoff_seconds * 2 ** (failed_attempts - 1))
