"""Run `guardrail worker` as a child process: for the demo, the benchmarks and the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

from guardrail.config import Settings
from guardrail.errors import ProcessFailed

READY_LINE = "Worker]: Ready"


class WorkerFailed(ProcessFailed):
    """The worker exited or did not become ready; ``detail`` is its log's tail."""


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as GUARDRAIL_* environment variables (secrets included: child only)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"GUARDRAIL_{name.upper()}"] = str(value)
    return env


class WorkerProcess:
    """One worker process with its own log file."""

    name = "worker"  # in its failure messages
    ready_line = READY_LINE  # its log says this once it is ready

    def __init__(self, settings: Settings, log_path: Path, loglevel: str = "info") -> None:
        self.settings = settings
        self.log_path = log_path
        self.loglevel = loglevel
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 90.0) -> WorkerProcess:
        """Start the worker and wait until faust says it is ready."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        offset = self.log_path.stat().st_size
        env = {**os.environ, **settings_env(self.settings), "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.command(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        try:
            self.wait_ready(timeout, offset)
        except BaseException:  # not ready: it must not stay behind
            self.stop(timeout=10)
            raise
        return self

    def command(self) -> list[str]:
        return [sys.executable, "-m", "guardrail", "worker", "--loglevel", self.loglevel]

    def wait_ready(self, timeout: float, offset: int = 0) -> None:
        ready = self.ready_line.encode()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise WorkerFailed(
                    f"{self.name} exited ({self.process.returncode}); its log: {self.log_path}",
                    self.tail(),
                )
            with self.log_path.open("rb") as log:
                log.seek(offset)
                if ready in log.read():
                    return
            time.sleep(0.2)
        raise WorkerFailed(
            f"{self.name} not ready after {timeout:g} s; its log: {self.log_path}", self.tail()
        )

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: a crash, as far as Kafka can tell."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> WorkerProcess:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
