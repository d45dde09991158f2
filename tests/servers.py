"""Lightbox served by gunicorn, for the tests that need real processes (several servers, killed workers)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import _free_port
from tests.http_browser import send

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def until(check, what: str, deadline: float):
    """Call `check` until it answers something true, or fail after `deadline` seconds."""
    end = time.monotonic() + deadline
    while True:
        answer = check()
        if answer:
            return answer
        if time.monotonic() > end:
            pytest.fail(f"{what}: not within {deadline:.0f} s")
        time.sleep(0.05)


def children(pid: int) -> set[int]:
    """The live child processes of `pid` (gunicorn's workers), from /proc."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may hold spaces and brackets, so split after its last ")".
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state not in ("Z", "X"):
            found.add(int(entry))
    return found


class Gunicorn:
    """`gunicorn --workers 2 app:app` on a free port, in a process group of its own so that stopping it
    stops its workers too; what it writes (tracebacks included) goes to `log`."""

    def __init__(self, env: dict, log: Path, name: str = "gunicorn"):
        self.name, self.port, self.log = name, _free_port(), log
        with open(log, "wb") as out:
            self.process = subprocess.Popen(
                [str(GUNICORN), "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "--timeout", "60",
                 "--graceful-timeout", "5", "--log-level", "warning", "--no-control-socket", "app:app"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def __repr__(self) -> str:
        return f"{self.name} on port {self.port}"

    def workers(self) -> set[int]:
        return children(self.process.pid)

    def wait_until_up(self, deadline: float | None = None) -> None:
        """Until the sign-in page answers; `deadline` is a time.monotonic() (a minute from now if not given)."""
        deadline = deadline or time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self} exited with {self.process.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if send(self.port, {}, "GET", "/auth/sign-in").status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self} did not answer in time:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)  # the master and its workers
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def log_lines(self, pattern: str) -> list[str]:
        return [line for line in self.log.read_text(errors="replace").splitlines() if re.search(pattern, line)]
