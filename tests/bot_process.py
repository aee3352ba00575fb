"""`hdbot run` in a child process that a test can kill without warning (SIGKILL) and restart."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from tests.timeline import clock_env

WAIT = 30.0  # a restarted process needs a moment to import and connect


class BotProcess:
    """`hdbot run` in a subprocess that can be killed without warning and started again."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot.cli", "run"],
                # Each start takes up the test clock where it stands.
                env={**self.env, **clock_env()},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
