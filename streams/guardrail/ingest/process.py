"""Run `guardrail ingest` as a child process: for `guardrail demo --foreign` and the tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from guardrail.config import Settings
from guardrail.devstack.kafka import free_port
from guardrail.errors import ProcessFailed
from guardrail.worker.process import settings_env


class IngestProcess:
    """One `guardrail ingest` with its own log file and metrics port (``port``)."""

    def __init__(self, settings: Settings, mapping: Path, log_path: Path, group: str) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = {
            **os.environ,
            **settings_env(settings),
            "GUARDRAIL_METRICS_PORT": str(self.port),
            "GUARDRAIL_INGEST_MAPPING": str(mapping),
            "GUARDRAIL_INGEST_GROUP": group,
            "PYTHONUNBUFFERED": "1",
        }
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "guardrail", "ingest"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )

    def probe(self, path: str) -> int:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return int(r.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            return 0

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while self.probe("/readyz") != 200:
            if self.process.poll() is not None:
                raise ProcessFailed("ingest exited", detail=self.tail())
            if time.monotonic() > deadline:
                raise ProcessFailed(f"ingest not ready after {timeout:g} s", detail=self.tail())
            time.sleep(0.2)

    def tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return int(self.process.returncode)
