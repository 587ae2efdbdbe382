"""`guardrail demo` end to end: its own broker and worker, a small dataset, a clean exit.

Runs the real command in a child process on free ports and a temp data dir, then checks the
report's sections and that nothing it started is left running.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from guardrail.devstack.kafka import free_ports, port_in_use

pytestmark = pytest.mark.integration

RUN_TIMEOUT = 420  # a cold cache fetches Kafka first


@pytest.fixture
def demo_dir() -> Iterator[Path]:
    # Not tmp_path: a concurrent pytest run may prune older basetemps under a running broker.
    root = Path(tempfile.mkdtemp(prefix="guardrail-demo-it-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _demo(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GUARDRAIL_")}
    if "GUARDRAIL_CACHE" in os.environ:
        env["GUARDRAIL_CACHE"] = os.environ["GUARDRAIL_CACHE"]
    return subprocess.run(
        [sys.executable, "-m", "guardrail", "demo", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )


def _pids(stderr: str) -> dict[str, int]:
    found = {}
    for name, pattern in (
        ("kafka", r"kafka \S+ ready on .*?\(pid (\d+)"),
        ("worker", r"worker ready \(pid (\d+)"),
    ):
        match = re.search(pattern, stderr)
        assert match, f"no {name} pid in the demo's stderr:\n{stderr}"
        found[name] = int(match.group(1))
    return found


def _assert_stopped(data_dir: Path, ports: list[int], pids: dict[str, int]) -> None:
    for name, pid in pids.items():
        assert not _alive(pid), f"{name} (pid {pid}) still running after the demo"
    assert not (data_dir / "kafka" / "kafka.pid").exists()
    assert not (data_dir / "demo.json").exists()
    for port in ports:
        assert not port_in_use(port), f"port {port} still in use after the demo"


def test_demo_runs_end_to_end_and_stops_what_it_started(demo_dir: Path) -> None:
    port, _controller, metrics_port = free_ports(3)
    data_dir = demo_dir / "demo"
    result = _demo(
        "--customers",
        "50",
        "--events",
        "800",
        "--seed",
        "7",
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--data-dir",
        str(data_dir),
        cwd=demo_dir,
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{out}\nstderr:\n{err}"

    for section in ("Decisions (", "Before / after", "Check", "Timings"):
        assert section in out
    for action in ("deliver", "rewrite", "suppress"):
        assert re.search(rf"^    {action} +\d", out, re.MULTILINE), f"no {action} row:\n{out}"
    assert "1. Rewritten" in out and "none in this dataset" not in out
    assert "2. Suppressed" in out and "3. Delivered" in out
    assert "4. Coherent rewrite" in out  # a bought item dropped with the copy naming it
    assert 'explanation   "Because you' in out
    assert "Kafka decisions = pure replay decisions: yes" in out
    # Customer ids never appear: the examples mask them.
    assert not re.search(r"\bc-\d{6}\b", out)
    assert "produced" in err and "decided" in err
    assert (data_dir / "events.jsonl").is_file()
    # It ends by writing the HTML report and saying where it is.
    assert out.rstrip().splitlines()[-1].startswith(f"Report: {data_dir / 'report.html'}")
    page = (data_dir / "report.html").read_text(encoding="utf-8")
    assert 'id="totals"' in page and "<script src=" not in page
    _assert_stopped(data_dir, [port, port + 1, metrics_port], _pids(err))


def test_keep_running_leaves_the_stack_up_until_demo_stop(demo_dir: Path) -> None:
    port, _controller, metrics_port = free_ports(3)
    data_dir = demo_dir / "demo"
    result = _demo(
        "--customers",
        "20",
        "--events",
        "200",
        "--keep-running",
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--data-dir",
        str(data_dir),
        cwd=demo_dir,
    )
    out, err = result.stdout, result.stderr
    try:
        assert result.returncode == 0, f"exit {result.returncode}\n{out}\n{err}"
        pids = _pids(err)
        assert "Still running (--keep-running)" in out
        assert f"guardrail demo --stop --data-dir {data_dir}" in out
        assert f"http://127.0.0.1:{metrics_port}/metrics" in out
        assert all(_alive(pid) for pid in pids.values())
        assert port_in_use(port) and port_in_use(metrics_port)
    finally:
        stopped = _demo("--stop", "--data-dir", str(data_dir), cwd=demo_dir)
    assert stopped.returncode == 0, stopped.stderr
    assert "stopped the demo worker" in stopped.stderr
    _assert_stopped(data_dir, [port, port + 1, metrics_port], pids)


def test_demo_foreign_ingests_a_brands_own_topics_and_decides(demo_dir: Path) -> None:
    port, _controller, metrics_port = free_ports(3)
    data_dir = demo_dir / "foreign"
    result = _demo(
        "--foreign",
        "--customers",
        "40",
        "--events",
        "800",
        "--port",
        str(port),
        "--metrics-port",
        str(metrics_port),
        "--data-dir",
        str(data_dir),
        cwd=demo_dir,
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{out}\nstderr:\n{err}"
    counts = dict(re.findall(r"^      (\w[\w' ]+?) +([\d,]+)$", out + err, re.M))
    assert int(counts["purchase"]) > 0 and int(counts["browsing"]) > 0
    assert counts["purchase on the key's partition"] == counts["purchase"]
    assert counts["browsing on the key's partition"] == counts["browsing"]
    assert counts["dead letters"] == "2"
    assert "every ingested record on its key's murmur2 partition: yes" in out
    assert "Kafka decisions = pure replay decisions: yes" in out
    assert (data_dir / "mapping.yaml").is_file() and (data_dir / "ingest.log").is_file()
    assert not port_in_use(port) and not port_in_use(metrics_port)
