"""`guardrail replay` on damaged files: every bad line (invalid UTF-8, a NUL byte, a 10 MB
line, a binary file's) is reported with its number, the rest is decided, exit status 1."""

from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from guardrail.cli.main import main

GOLDEN = Path(__file__).resolve().parents[2] / "golden"


def good_lines() -> list[bytes]:
    return (GOLDEN / "consent.events.jsonl").read_bytes().splitlines()


def decisions_of(lines: list[bytes], tmp_path: Path) -> list[str]:
    path = tmp_path / "clean.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def run(path: Path) -> tuple[int, list[str], list[str]]:
    result = CliRunner().invoke(main, ["replay", str(path)])
    rejected = [line for line in result.stderr.splitlines() if ": rejected: " in line]
    return result.exit_code, result.stdout.splitlines(), rejected


def test_bad_bytes_are_reported_by_line_and_the_rest_is_decided(tmp_path: Path) -> None:
    good = good_lines()
    bad = {
        3: b'{"type": "profile", "first_name": "Ana\xff\xfe"}',  # invalid UTF-8
        5: b'{"type": "purchase",\x00 "customer_id": "c-1"}',  # a NUL byte
        7: b'{"type": "browsing", "query": "' + b"x" * (10 * 1024 * 1024) + b'"}',  # 10 MB
    }
    lines: list[bytes] = []
    for line in good:
        while len(lines) + 1 in bad:
            lines.append(bad[len(lines) + 1])
        lines.append(line)
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    code, decisions, rejected = run(path)
    assert code == 1
    assert rejected == [
        f"{path}:3: rejected: not valid UTF-8 at byte 39",
        f"{path}:5: rejected: holds a NUL byte at byte 21",
        f"{path}:7: rejected: line is {len(bad[7]) + 1:,} bytes, over the 1,048,576-byte limit",
    ]
    assert decisions == decisions_of(good, tmp_path), "every good line decided, as without"


def test_a_10_mb_line_without_a_newline_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    path.write_bytes(good_lines()[0] + b"\n" + b"{" * (10 * 1024 * 1024))
    code, _, rejected = run(path)
    assert code == 1
    assert rejected == [
        f"{path}:2: rejected: line is 10,485,760 bytes, over the 1,048,576-byte limit"
    ]


def test_a_binary_file_is_rejected_line_by_line_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "random.bin"
    path.write_bytes(os.urandom(200_000))
    result = CliRunner().invoke(main, ["replay", str(path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    rejected = [line for line in result.stderr.splitlines() if ": rejected: " in line]
    numbers = [int(line.split(":")[1]) for line in rejected]
    assert numbers == sorted(numbers) and len(numbers) > 100
    assert result.stdout == ""


def test_a_clean_file_still_exits_0(tmp_path: Path) -> None:
    decisions = decisions_of(good_lines(), tmp_path)
    assert decisions and all(json.loads(d)["action"] for d in decisions)
