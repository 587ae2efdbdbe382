"""A real local Apicurio Registry (Confluent-compatible API), no Docker, like LocalKafka."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Self

import httpx

from guardrail.devstack.jvm_fetch import APICURIO_VERSION, Echo, apicurio_home, find_java
from guardrail.devstack.kafka import HOST, _JavaService, free_port

__all__ = ["LocalRegistry"]


class LocalRegistry(_JavaService):
    """Apicurio Registry (in-memory storage) serving the Confluent-compatible API."""

    name = "registry"

    def __init__(
        self,
        port: int = 8081,
        *,
        data_dir: str | Path | None = None,
        version: str = APICURIO_VERSION,
        heap: str = "512m",
        cache: Path | None = None,
        echo: Echo | None = None,
    ) -> None:
        home = Path(data_dir) if data_dir else Path.cwd() / "var" / f"registry-{port}"
        super().__init__(home, echo)
        self.port = port
        self.version = version
        self.heap = heap
        self.cache = cache

    @property
    def url(self) -> str:
        """Base URL of the Confluent-compatible API, for SchemaRegistryClient."""
        return f"http://{HOST}:{self.port}/apis/ccompat/v7"

    def start(self, timeout: float = 120.0) -> Self:
        """Start the registry (fetching it first if needed) and wait until it answers."""
        if self.is_running():
            self.echo(f"registry already running at {self.url} (pid {self.pid()})")
            self._wait_ready(self._answers, timeout, time.monotonic())
            return self
        self._check_port(self.port, "schema registry")
        java = find_java(21, f"Apicurio Registry {self.version}")
        app = apicurio_home(self.version, cache=self.cache, echo=self.echo)
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [
            java,
            f"-Xmx{self.heap}",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            f"-Djava.io.tmpdir={self.home}",
            f"-Dquarkus.http.host={HOST}",
            f"-Dquarkus.http.port={self.port}",
            # The management interface (health, metrics) would take port 9000 on all hosts.
            "-Dquarkus.management.host=127.0.0.1",
            f"-Dquarkus.management.port={free_port()}",
            self._marker,
            "-jar",
            str(app / "quarkus-run.jar"),
        ]
        started = time.monotonic()
        self._spawn(argv, cwd=self.home)
        self._wait_ready(self._answers, timeout, started)
        self.startup_seconds = time.monotonic() - started
        self.echo(
            f"registry (Apicurio {self.version}) ready at {self.url} in "
            f"{self.startup_seconds:.1f}s (pid {self.pid()}, log {self.log_file})"
        )
        return self

    def _answers(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/subjects", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
