"""Crash safety (issue 7, item 1): a real ``itsm`` process is SIGKILLed at a fault point of
intake, task completion, timer firing, e-mail import or notification delivery; after the
retry nothing is lost, half-written or applied twice, and nothing was sent that did not
commit (``tests/faults/campaign.py`` has the rules, docs/reliability.md the figures).

The normal run takes a spread sample of the plan; ``ITSM_FAULT_RUNS=250`` runs it all
(or ``bench/crash_safety.py``, which also prints the campaign's figures).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.faults.campaign import (
    OPERATIONS,
    POINTS,
    CampaignRun,
    Fault,
    Receivers,
    Template,
    full_plan,
    sample,
)

pytestmark = pytest.mark.faults

BOUNDED_RUNS = 40
FAULTS = sample(full_plan(), int(os.environ.get("ITSM_FAULT_RUNS", BOUNDED_RUNS)))


def test_the_sample_reaches_every_operation_and_point() -> None:
    assert {f.operation for f in FAULTS} == set(OPERATIONS)
    assert {f.point for f in FAULTS if f.reached} == set(POINTS)
    assert any(not f.reached for f in FAULTS)
    assert len(full_plan()) >= 200


@pytest.mark.parametrize("fault", FAULTS, ids=[f"{i:03d}-{f.id}" for i, f in enumerate(FAULTS)])
def test_a_process_killed_at_a_fault_point_loses_nothing(
    fault: Fault, fault_template: Template, receivers: Receivers, tmp_path: Path
) -> None:
    result = CampaignRun(fault_template, receivers, tmp_path / "run").run(fault)
    assert result.reached is fault.reached
    if fault.double:
        assert result.retry_reached is not None
