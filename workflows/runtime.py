"""The services a flow process calls: built once per process, on first use, never at import.

Tests (and an embedding program) hand in their own with ``use(services)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from itsm.bootstrap import Services, build

_services: Services | None = None

# Prefect phones home unless told not to; set before any flow runs in this process.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


def desk() -> Services:
    global _services
    if _services is None:
        _services = build()
    return _services


@contextmanager
def use(services: Services) -> Iterator[Services]:
    """Run flows against ``services`` (a test database, a manual clock) inside the block."""
    global _services
    previous, _services = _services, services
    try:
        yield services
    finally:
        _services = previous
