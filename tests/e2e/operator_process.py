"""The real operator (`ssvm-operator run`, kopf inside) as a child process pointed at the emulated cluster.

A child process, not a thread: tests kill it mid-action (SIGKILL, no cleanup) and start a new one, as a
node failure would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class OperatorProcess:
    def __init__(
        self, env: dict[str, str], log_path: Path, tick_seconds: float = 0.3, extra_args: tuple[str, ...] = ()
    ) -> None:
        self._env = {**env, "SSVM_OPERATOR_TICK_SECONDS": str(tick_seconds), "PYTHONUNBUFFERED": "1"}
        self._extra_args = extra_args
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self) -> None:
        assert self._process is None, "already running"
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ssvm_operator.cli", "run", "--log-level", "DEBUG", *self._extra_args],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    def kill(self) -> None:
        """SIGKILL: the operator gets no chance to finish anything."""
        if self._process is not None:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
            self._process = None

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGINT)
        try:
            self._process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(10)
        self._process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.logs():
            if time.monotonic() > deadline:
                raise TimeoutError(f"operator never logged {text!r}:\n{self.logs()[-3000:]}")
            if not self.running:
                raise RuntimeError(f"operator exited:\n{self.logs()[-3000:]}")
            time.sleep(0.1)
