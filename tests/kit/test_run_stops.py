"""`glassbox run` stops what it started even when only it got the signal (kill, a supervisor), not the terminal's
whole process group: honcho and every process of the Procfile."""
import subprocess
import sys
import time
from pathlib import Path

from glassbox.cli import stop_process_manager


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
    except (FileNotFoundError, ProcessLookupError):
        return False
    return " Z " not in f"{state} "  # a zombie has stopped; only its parent's wait is missing


def test_stopping_the_process_manager_stops_every_process_it_started(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("first: sleep 300\nsecond: sleep 300\n")
    honcho = subprocess.Popen([sys.executable, "-m", "honcho", "-f", str(procfile), "start"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    pids, deadline = [], time.monotonic() + 30
    while len(pids) < 2 and time.monotonic() < deadline:
        line = honcho.stdout.readline()
        if "started (pid=" in line:
            pids.append(int(line.split("pid=")[1].split(")")[0]))
    assert len(pids) == 2 and all(_alive(pid) for pid in pids)

    stop_process_manager(honcho)  # the signal reached this command only: honcho must be told

    assert honcho.returncode is not None
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in pids)
