"""Every private faust/aiokafka attribute the worker uses is still there, at the pinned versions.

When an upgrade removes one, the first test fails with a line per attribute naming it and the
version we tested; ``guardrail.worker.faust_compat`` is the one module to adapt.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from pathlib import Path

import pytest

from guardrail.worker import faust_compat
from guardrail.worker.faust_compat import FaustInternalsChanged, Requirement

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"


def test_every_private_faust_and_aiokafka_attribute_the_worker_uses_is_there() -> None:
    problems = faust_compat.problems()
    assert not problems, "\n".join(problems)


def test_a_missing_attribute_is_reported_by_name_with_the_tested_version() -> None:
    gone = Requirement("aiokafka", "aiokafka.AIOKafkaConsumer", "_renamed_away", lambda: False)
    message = gone.problem()
    assert message is not None
    assert "aiokafka.AIOKafkaConsumer._renamed_away is gone" in message
    assert f"tested with aiokafka {faust_compat.TESTED_VERSIONS['aiokafka']}" in message


def test_check_raises_naming_every_missing_attribute(monkeypatch: pytest.MonkeyPatch) -> None:
    gone = Requirement("faust-streaming", "faust.App", "_nowhere", lambda: False)
    monkeypatch.setattr(faust_compat, "REQUIREMENTS", (*faust_compat.REQUIREMENTS, gone))
    with pytest.raises(FaustInternalsChanged, match=r"faust\.App\._nowhere is gone"):
        faust_compat.check()


def test_a_requirement_that_cannot_be_looked_up_says_so() -> None:
    broken = Requirement("faust-streaming", "faust.nowhere.Thing", "_x", lambda: 1 / 0 > 0)
    assert "cannot be checked (ZeroDivisionError" in (broken.problem() or "")


@pytest.mark.parametrize("package", sorted(faust_compat.TESTED_VERSIONS))
def test_the_installed_minor_version_is_the_tested_one_and_pyproject_pins_it(
    package: str,
) -> None:
    tested = faust_compat.TESTED_VERSIONS[package]
    minor = tested.rsplit(".", 1)[0]
    assert importlib.metadata.version(package).startswith(minor + ".")
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    assert f"{package}~={tested}" in dependencies
