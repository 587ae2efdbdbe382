"""A real local Kafka broker (KRaft, single node), no Docker (the registry: registry_local).

Both run as detached Java processes with a pid file and a log file in a state directory,
so a CLI can start them and another invocation can stop them. Typical use::

    with LocalKafka(port=19092, data_dir=tmp) as kafka:
        produce(kafka.bootstrap, ...)
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import random
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from guardrail.devstack.jvm_fetch import (
    KAFKA_VERSION,
    Echo,
    default_echo,
    find_java,
    kafka_classpath,
)
from guardrail.errors import LocalStackError

__all__ = [
    "LocalKafka",
    "SaslSslListener",
    "free_port",
    "free_ports",
]

HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    return free_ports(1)[0]


def _ephemeral_start() -> int:
    """Where the kernel's range of ports for outbound connections starts."""
    with contextlib.suppress(OSError, ValueError):
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    return 32768


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports nothing is bound to, below the kernel's ephemeral range.

    A port from that range (what binding port 0 gives) can be handed to some client's
    outbound connection between this probe and the listener's own bind: seen as "port in
    use" for a broker started during a busy test run.
    """
    top = _ephemeral_start()
    room = range(10_000, top) if top > 10_000 + 4 * count else range(0)
    candidates = random.sample(room, min(64 * count, len(room)))
    ports = [port for port in candidates if not port_in_use(port)][:count]
    if len(ports) == count:
        return ports
    socks = [socket.socket() for _ in range(count)]  # no room below the range: the kernel's pick
    try:
        for sock in socks:
            sock.bind((HOST, 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        # Same flag the JVM sets, so a port left in TIME_WAIT by our last run still counts free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return True
    return False


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:]) or f"(empty log {path})"


class _JavaService:
    """A detached Java process tracked by a pid file in ``home``."""

    name = "service"

    def __init__(self, home: Path, echo: Echo | None) -> None:
        self.home = home.resolve()
        self.pid_file = self.home / f"{self.name}.pid"
        self.out_file = self.home / f"{self.name}.out"
        self.echo: Echo = echo or default_echo
        self.startup_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def _marker(self) -> str:
        # Put on the java command line so a recycled pid is never mistaken for ours.
        return f"-Dguardrail.home={self.home}"

    @property
    def log_file(self) -> Path:
        return self.out_file

    def pid(self) -> int | None:
        """The pid of the running process, or None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        if self._alive(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def is_running(self) -> bool:
        return self.pid() is not None

    def _alive(self, pid: int) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            # Our own child: its /proc cmdline may not show java yet right after the spawn.
            return self._proc.poll() is None
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)  # reaps it if it is our exited child
            if done:
                return False
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        state = stat.rsplit(")", 1)[-1].split()[0]
        if state in ("Z", "X"):
            return False
        # An empty cmdline is a process caught mid-exec: too early to tell, so assume ours.
        return cmdline == [b""] or self._marker.encode() in cmdline

    def _spawn(self, argv: list[str], cwd: Path) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.out_file, "ab") as out:
            self._proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # survives the starting shell and its Ctrl-C
            )
        self.pid_file.write_text(f"{self._proc.pid}\n")

    def _tails(self) -> str:
        parts = [f"last lines of {self.log_file}:\n{_tail(self.log_file)}"]
        if self.out_file != self.log_file and self.out_file.is_file():
            out = self.out_file.read_text(errors="replace").strip()
            if out:  # JVM-level failures (bad flags, out of memory) land here, not in the log
                parts.append(f"last lines of {self.out_file}:\n{_tail(self.out_file, 5)}")
        return "\n".join(parts)

    def _wait_ready(self, probe: Callable[[], bool], timeout: float, started: float) -> None:
        deadline = started + timeout
        while True:
            pid = self.pid()
            if pid is None:
                raise LocalStackError(f"{self.name} exited during start-up; {self._tails()}")
            if probe():
                return
            if time.monotonic() > deadline:
                self.stop(quiet=True)
                raise LocalStackError(
                    f"{self.name} did not answer within {timeout:.0f}s; {self._tails()}"
                )
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0, *, quiet: bool = False) -> bool:
        """SIGTERM, wait up to ``timeout``, then SIGKILL. True if something was running."""
        pid = self.pid()
        if pid is None:
            if not quiet:
                self.echo(f"{self.name} is not running ({self.home})")
            return False
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        while self._alive(pid) and time.monotonic() - started < timeout:
            time.sleep(0.1)
        if self._alive(pid):
            self.echo(f"{self.name} (pid {pid}) ignored SIGTERM for {timeout:.0f}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            while self._alive(pid) and time.monotonic() - started < timeout + 10:
                time.sleep(0.1)
        if self._proc is not None and self._proc.pid == pid:
            with contextlib.suppress(ChildProcessError, subprocess.TimeoutExpired):
                self._proc.wait(timeout=1)
            self._proc = None
        self.pid_file.unlink(missing_ok=True)
        if not quiet:
            self.echo(f"stopped {self.name} (pid {pid}) in {time.monotonic() - started:.1f}s")
        return True

    def _check_port(self, port: int, what: str, option: str = "--port") -> None:
        if port_in_use(port):
            raise LocalStackError(
                f"port {port} ({what}) on {HOST} is already in use by another process; "
                f"stop it or pick another port with {option}"
            )

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop(quiet=True)

    def start(self, timeout: float = 120.0) -> Self:
        raise NotImplementedError


@dataclass(frozen=True)
class SaslSslListener:
    """A second, SASL_SSL listener (SASL/PLAIN over TLS); see ``guardrail.devstack.tls``.

    ``keystore`` is a PEM file: the broker's unencrypted PKCS#8 key, then its certificate
    chain. ``users`` maps user names to passwords; the password never shows in ``repr``.
    """

    port: int
    keystore: Path
    users: dict[str, str] = field(repr=False)

    def jaas(self) -> str:
        for name, password in self.users.items():
            if not name.isidentifier() or any(c in password for c in '"\\;\n'):
                raise ValueError("SASL user names must be identifiers, passwords free of quotes")
        users = " ".join(f'user_{name}="{password}"' for name, password in self.users.items())
        return f"org.apache.kafka.common.security.plain.PlainLoginModule required {users};"


def render_server_properties(
    *,
    port: int,
    controller_port: int,
    log_dir: Path,
    node_id: int = 1,
    sasl_ssl: SaslSslListener | None = None,
) -> str:
    """``server.properties`` for a single-node KRaft broker+controller on 127.0.0.1.

    Brokers and controller talk PLAINTEXT on 127.0.0.1; ``sasl_ssl`` adds a client listener.
    """
    listeners = f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}"
    protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    secure: dict[str, Any] = {}
    if sasl_ssl is not None:
        listeners += f",SASL_SSL://{HOST}:{sasl_ssl.port}"
        protocols += ",SASL_SSL:SASL_SSL"
        prefix = "listener.name.sasl_ssl."
        secure = {
            "sasl.enabled.mechanisms": "PLAIN",
            f"{prefix}plain.sasl.jaas.config": sasl_ssl.jaas(),
            f"{prefix}ssl.keystore.type": "PEM",
            f"{prefix}ssl.keystore.location": str(sasl_ssl.keystore),
        }
    settings: dict[str, Any] = {
        "process.roles": "broker,controller",
        "node.id": node_id,
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "listeners": listeners,
        "advertised.listeners": listeners,
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": protocols,
        **secure,
        "log.dirs": str(log_dir),
        "num.partitions": 1,
        "auto.create.topics.enable": "false",
        # One node: internal topics cannot have more replicas than brokers.
        "offsets.topic.replication.factor": 1,
        "offsets.topic.num.partitions": 1,
        "transaction.state.log.replication.factor": 1,
        "transaction.state.log.min.isr": 1,
        "transaction.state.log.num.partitions": 1,
        "share.coordinator.state.topic.replication.factor": 1,
        "share.coordinator.state.topic.min.isr": 1,
        "group.initial.rebalance.delay.ms": 0,
        "log.retention.hours": 168,
        "log.segment.bytes": 64 * 1024 * 1024,
    }
    lines = ["# Written by guardrail (guardrail.devstack.kafka); rewritten on every start."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_log4j2(log_dir: Path, name: str = "server.log") -> str:
    """A log4j2 config sending everything to one size-rolled file."""
    path = log_dir / name
    # shutdownHook=disable: otherwise log4j stops before Kafka's own shutdown hook is done,
    # and the last (most useful) lines of a shutdown or a fatal start-up error are lost.
    return f"""status = warn
name = guardrail-kafka
shutdownHook = disable
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = {path}
appender.file.filePattern = {path}.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


def new_cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Never one starting with ``-``: the storage tool would read it as an option (1 in 64).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalKafka(_JavaService):
    """A single-node KRaft Kafka broker on 127.0.0.1, its state kept in ``data_dir``.

    Stopping and starting the same ``data_dir`` keeps topics and messages.
    """

    name = "kafka"

    def __init__(
        self,
        port: int = 9092,
        *,
        controller_port: int | None = None,
        data_dir: str | Path | None = None,
        version: str = KAFKA_VERSION,
        heap: str = "512m",
        cache: Path | None = None,
        echo: Echo | None = None,
        sasl_ssl: SaslSslListener | None = None,
    ) -> None:
        home = Path(data_dir) if data_dir else Path.cwd() / "var" / f"kafka-{port}"
        super().__init__(home, echo)
        self.port = port
        self.sasl_ssl = sasl_ssl
        self.controller_port = controller_port or port + 1
        self.version = version
        self.heap = heap
        self.cache = cache
        self.log_dir = self.home / "data"
        self.properties_file = self.home / "server.properties"

    @property
    def bootstrap(self) -> str:
        """The ``bootstrap.servers`` string, ``127.0.0.1:PORT``."""
        return f"{HOST}:{self.port}"

    @property
    def sasl_ssl_bootstrap(self) -> str:
        """``bootstrap.servers`` of the SASL_SSL listener (only with ``sasl_ssl``)."""
        if self.sasl_ssl is None:
            raise LocalStackError("this broker has no SASL_SSL listener")
        return f"{HOST}:{self.sasl_ssl.port}"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / "server.log"

    def is_formatted(self) -> bool:
        return (self.log_dir / "meta.properties").is_file()

    def start(self, timeout: float = 120.0) -> Self:
        """Start the broker (fetching Kafka first if needed) and wait until it answers."""
        if self.is_running():
            self.echo(f"kafka already running on {self.bootstrap} (pid {self.pid()})")
            self._wait_ready(self._answers, timeout, time.monotonic())
            return self
        self._check_port(self.port, "Kafka listener")
        self._check_port(self.controller_port, "Kafka controller", "--controller-port")
        if self.sasl_ssl is not None:
            self._check_port(self.sasl_ssl.port, "Kafka SASL_SSL listener")
        java = find_java(17, f"Kafka {self.version}")
        classpath = kafka_classpath(self.version, cache=self.cache, echo=self.echo)
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        self.properties_file.write_text(
            render_server_properties(
                port=self.port,
                controller_port=self.controller_port,
                log_dir=self.log_dir,
                sasl_ssl=self.sasl_ssl,
            )
        )
        if self.sasl_ssl is not None:
            self.properties_file.chmod(0o600)  # it holds the SASL passwords
        log4j = self.home / "log4j2.properties"
        log4j.write_text(render_log4j2(self.home / "logs"))
        jvm = [
            java,
            f"-Xmx{self.heap}",
            "-Xms64m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.home / 'logs'}",
            self._marker,
            "-cp",
            classpath,
        ]
        started = time.monotonic()
        if not self.is_formatted():
            self._format(jvm)
        self._spawn([*jvm, "kafka.Kafka", str(self.properties_file)], cwd=self.home)
        self._wait_ready(self._answers, timeout, started)
        self.startup_seconds = time.monotonic() - started
        self.echo(
            f"kafka {self.version} ready on {self.bootstrap} in {self.startup_seconds:.1f}s "
            f"(pid {self.pid()}, data {self.home}, log {self.log_file})"
        )
        return self

    def _format(self, jvm: list[str]) -> None:
        self.echo(f"formatting new KRaft storage in {self.log_dir}")
        cmd = [*jvm, "kafka.tools.StorageTool", "format", "--standalone"]
        cmd += ["-t", new_cluster_id(), "-c", str(self.properties_file)]
        result = subprocess.run(
            cmd, cwd=self.home, capture_output=True, text=True, stdin=subprocess.DEVNULL
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()
            raise LocalStackError(
                "formatting Kafka storage failed: " + " | ".join(output[-5:])[:500]
            )

    def _answers(self) -> bool:
        if not _accepts(self.port):
            return False
        from confluent_kafka.admin import AdminClient

        quiet = logging.getLogger("guardrail.kafka_local.librdkafka")
        quiet.setLevel(logging.CRITICAL)
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "logger": quiet}
        admin = AdminClient(conf)
        try:
            metadata = admin.list_topics(timeout=2)
        except Exception:
            return False
        return bool(metadata.brokers)
