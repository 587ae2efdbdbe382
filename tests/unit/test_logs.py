"""Logs: one JSON schema for every logger, secrets and payloads masked at any level, floods
cut to a few lines a second with a count, librdkafka routed through Python logging."""

from __future__ import annotations

import io
import json
import logging

import pytest

from guardrail import logs
from guardrail.logs import PrivacyFilter, RateLimitFilter

PASSWORD = "Pw-3f9a-SeCrEt"


def record(
    msg: str, *args: object, name: str = "aiokafka", level: int = logging.DEBUG
) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args or None, None)


def masked(msg: str, *args: object, secrets: tuple[str, ...] = (PASSWORD,)) -> str:
    rec = record(msg, *args)
    assert PrivacyFilter(secrets).filter(rec)
    return rec.getMessage()


@pytest.mark.parametrize(
    "msg, args, gone",
    [
        # aiokafka's debug line of a SASL PLAIN authenticate request
        ("Sending request %r", (b"\x00guardrail\x00" + PASSWORD.encode(),), PASSWORD),
        ("sasl_plain_password=%s connecting", (PASSWORD,), PASSWORD),
        ("config {'sasl.password': '%s'}", ("hunter22",), "hunter22"),
        ("ssl.key.password=%s", ("k3ypass",), "k3ypass"),
        # a configured secret wherever it shows up
        ("auth failed for user guardrail with %s", (PASSWORD,), PASSWORD),
        ("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----", (), "MIIEvQ"),
        # records: reprs with key and value bytes, and JSON values as text
        (
            "ConsumerRecord(topic='t', key=b'c-000042', value=b'{\"first_name\": \"Ana\"}')",
            (),
            "Ana",
        ),
        ("ConsumerRecord(topic='t', key=b'c-000042', value=b'x')", (), "c-000042"),
        ('decoded {"customer_id": "c-77", "query": "divorce lawyer"}', (), "divorce"),
        ('nested {"a": {"customer_id": "c-77"}, "b": "Ana"}', (), "Ana"),
        ("<FutureMessage: key=c-000123 value=Hi Emma>", (), "Emma"),
    ],
)
def test_secrets_and_payloads_are_masked_at_any_level(
    msg: str, args: tuple[object, ...], gone: str
) -> None:
    assert gone not in masked(msg, *args)


def test_what_operators_need_stays_readable() -> None:
    text = "dead-lettered t.customer.purchases[3]@1207: missing_field"
    assert masked(text) == text


def test_a_traceback_is_masked_too() -> None:
    try:
        raise ValueError(f"bad value b'{PASSWORD}'")
    except ValueError:
        import sys

        rec = logging.LogRecord("faust", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    PrivacyFilter([PASSWORD]).filter(rec)
    assert rec.exc_text and "ValueError" in rec.exc_text and PASSWORD not in rec.exc_text


def json_lines(fmt_records: list[logging.LogRecord]) -> list[dict[str, object]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.formatter("json"))
    handler.addFilter(PrivacyFilter())
    for rec in fmt_records:
        if handler.filter(rec):
            handler.emit(rec)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_json_lines_share_one_schema_for_ours_and_faust() -> None:
    lines = json_lines(
        [
            record(
                "dead-lettered %s[%d]@%d: %s",
                "acme.customer.purchases",
                3,
                1207,
                "missing_field",
                name="guardrail.worker",
                level=logging.WARNING,
            ),
            record("[^Worker]: Ready", name="faust.worker", level=logging.INFO),
            record("Unable connect to node with id 1", name="aiokafka", level=logging.ERROR),
        ]
    )
    assert [set(line) >= {"time", "level", "logger", "message"} for line in lines] == [True] * 3
    first = lines[0]
    assert first["topic"] == "acme.customer.purchases"
    assert (first["partition"], first["offset"]) == (3, 1207)
    assert first["level"] == "WARNING" and first["logger"] == "guardrail.worker"
    assert str(first["time"]).endswith("Z")
    assert lines[1]["message"] == "[^Worker]: Ready" and "topic" not in lines[1]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_is_cut_to_a_few_lines_a_second_with_a_count() -> None:
    clock = Clock()
    limiter = RateLimitFilter(clock=clock)
    passed = 0
    for _ in range(15):  # 15 s of a broker that is down: 1,000 lines a second of each
        for i in range(1000):
            for template in ("Unable connect to node with id %s", "Connection refused: %s"):
                passed += limiter.filter(record(template, i, level=logging.ERROR))
            clock.now += 0.001
    assert passed <= 5 * 15 + 20  # never more than the global rate (plus its burst)
    out = io.StringIO()
    logger = logging.getLogger("test.logs.flush")
    logger.propagate = False
    logger.addHandler(logging.StreamHandler(out))
    limiter.flush(logger)
    assert out.getvalue().startswith(f"suppressed {30_000 - passed} repeated log lines (aiokafka ")
    clock.now += 6  # the broker is back: quiet for longer than quiet_s
    limiter.flush(logger)
    last = out.getvalue().splitlines()[-1]
    assert last.startswith("errors stopped: no repeated error for 5 s after a flood of 15.0 s")


def test_info_lines_and_rare_warnings_are_never_cut() -> None:
    clock = Clock()
    limiter = RateLimitFilter(clock=clock)
    assert all(limiter.filter(record("[^Worker]: Ready", level=logging.INFO)) for _ in range(500))
    for i in range(20):  # a dead letter every 10 s
        clock.now += 10
        assert limiter.filter(record("dead-lettered %s", i, level=logging.WARNING))


def test_librdkafka_logs_through_python_logging_at_the_loggers_level() -> None:
    config = logs.librdkafka_config(logging.INFO)
    assert config["logger"] is logging.getLogger("librdkafka")
    assert config["log_level"] == 6
    assert logs.librdkafka_config(logging.WARNING)["log_level"] == 4


def test_configure_routes_every_logger_through_one_masked_handler() -> None:
    out = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    try:
        logs.configure("debug", "json", secrets=[PASSWORD], stream=out, flush_interval_s=60)
        logging.getLogger("aiokafka.conn").debug("auth %r", b"\x00u\x00" + PASSWORD.encode())
        logging.getLogger("faust.transport").info("password=%s", PASSWORD)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["logger"] for line in lines] == ["aiokafka.conn", "faust.transport"]
    assert PASSWORD not in out.getvalue()


def test_a_normal_first_join_is_not_an_error() -> None:
    rec = record(
        "Group Coordinator Request failed: %s",
        "[Error 15] GroupCoordinatorNotAvailableError",
        name="aiokafka.consumer.group_coordinator",
        level=logging.ERROR,
    )
    assert logs.ExpectedConditionFilter().filter(rec)
    assert rec.levelname == "INFO"
    other = record("Unable connect to node with id 1", level=logging.ERROR)
    logs.ExpectedConditionFilter().filter(other)
    assert other.levelname == "ERROR"
