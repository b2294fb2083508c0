"""``itsm serve``'s supervisor: parts start in order, and stopping it leaves no process behind
(its children's own children included)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from itsm.supervisor import Part

# A part that starts a grandchild in its own process group and then waits forever, the way
# a server with worker processes does.
PART = textwrap.dedent(
    """
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    open(sys.argv[1], "w").write(str(child.pid))
    time.sleep(600)
    """
)
RUNNER = textwrap.dedent(
    """
    import sys
    from itsm.supervisor import Part, run
    parts = [Part(f"part{n}", [sys.executable, "-c", sys.argv[1], f"{sys.argv[2]}.{n}"])
             for n in range(2)]
    sys.exit(run(parts, {}, prefect_health="", say=print))
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0): it is gone for our purpose.
    status = (
        Path(f"/proc/{pid}/stat").read_text().split()[2] if Path(f"/proc/{pid}").exists() else "X"
    )
    return status != "Z"


def test_sigterm_stops_every_part_and_its_children(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild"
    supervisor = subprocess.Popen([sys.executable, "-c", RUNNER, PART, str(marker)])
    pids_files = [Path(f"{marker}.{n}") for n in range(2)]
    deadline = time.monotonic() + 20
    while not all(f.exists() and f.read_text() for f in pids_files):
        assert time.monotonic() < deadline, "the parts did not start"
        time.sleep(0.1)
    grandchildren = [int(f.read_text()) for f in pids_files]
    assert all(alive(pid) for pid in grandchildren)

    supervisor.send_signal(signal.SIGTERM)
    supervisor.send_signal(signal.SIGTERM)  # impatient: a second signal must not strand any
    assert supervisor.wait(timeout=30) == 0
    time.sleep(0.5)
    assert not any(alive(pid) for pid in grandchildren)


def test_part_names_the_command_it_runs() -> None:
    part = Part("flows", [sys.executable, "-m", "workflows.deployments"])
    assert part.command[-1] == "workflows.deployments"
