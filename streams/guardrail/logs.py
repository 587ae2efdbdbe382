"""Logging for every command: one format for our, faust's, aiokafka's and librdkafka's records.

- ``text`` (default) or ``json`` (one object per line: ``time``, ``level``, ``logger``,
  ``message`` and, where a record names one, ``topic``, ``partition``, ``offset``).
- A privacy filter on the handler, so on every record of every logger (ours, faust, mode,
  aiokafka, librdkafka via confluent-kafka's ``logger=``): secrets (SASL passwords, private
  keys, anything configured as secret) and record payloads (bytes literals, JSON objects) are
  masked at any level, debug included.
- A rate limiter on warnings and errors: a flood of the same line (a broker that is down
  makes the clients log thousands a second) is cut to a few lines a second, with one line
  counting what was suppressed and one line when the flood is over.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable
from typing import Any, Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["text", "json"]

TEXT_FORMAT = "[%(asctime)s] %(levelname)s %(name)s: %(message)s"
MASK = "****"
# ``topic[partition]@offset``, as every record-level log line of the worker names a record.
_WHERE = re.compile(r"(?P<topic>[A-Za-z0-9._-]+)\[(?P<partition>\d+)\]@(?P<offset>\d+)")

# The client loggers, kept at WARNING unless the whole process logs at DEBUG.
CLIENT_LOGGERS = ("aiokafka", "kafka", "librdkafka", "httpx")
LIBRDKAFKA_LOGGER = "librdkafka"


# --- privacy -------------------------------------------------------------------------------
_PAYLOAD_PATTERNS = [
    # PEM blocks (private keys, certificates)
    (re.compile(r"-----BEGIN [A-Z ]+-----.*?(?:-----END [A-Z ]+-----|$)", re.S), "<pem masked>"),
    # bytes literals: record keys and values, SASL auth bytes, raw frames
    (re.compile(r"""b(?P<q>['"])(?:\\.|(?!(?P=q)).)*(?P=q)""", re.S), "b'<masked>'"),
    # secrets named as such: password=..., 'sasl_plain_password': '...', sasl.password: ...
    (
        re.compile(
            r"""(?P<k>(?:sasl[._]?(?:plain[._])?)?pass(?:word)?|secret|token|ssl[._]key[._]password"""
            r"""|ssl\.key\.pem|credentials?)(?P<sep>['"]?\s*[:=]\s*)(?P<v>'[^']*'|"[^"]*"|[^\s,;)}\]]+)""",
            re.I,
        ),
        r"\g<k>\g<sep>" + MASK,
    ),
    # JSON objects (a record's value printed as text), nested ones from the inside out
    (re.compile(r"\{\s*\"(?:[^{}]|\{<masked>\})*\}"), "{<masked>}"),
    (re.compile(r"\{\s*\"(?:[^{}]|\{<masked>\})*\}"), "{<masked>}"),
    (re.compile(r"\{\s*\"(?:[^{}]|\{<masked>\})*\}"), "{<masked>}"),
    # Python reprs of records: ConsumerRecord(... key=..., value=...), FutureMessage(...)
    (
        re.compile(r"(?P<k>\b(?:key|value|headers|message)=)(?P<v>[^,)>\s][^,)>]*)"),
        r"\g<k><masked>",
    ),
]


class PrivacyFilter(logging.Filter):
    """Masks secrets and payloads in a record's final message and traceback.

    ``secrets``: literal values to mask wherever they appear (the configured SASL password,
    say), in addition to the patterns above.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        for pattern, replacement in _PAYLOAD_PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep the template, drop the arguments
            message = str(record.msg)
        record.msg = self.mask(message)
        record.args = None
        if record.exc_info:
            formatter = logging.Formatter()
            record.exc_text = self.mask(formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


# --- expected conditions ----------------------------------------------------------------------
# Client messages logged as errors for conditions that are normal and retried: a group's
# first join (the coordinator is still loading), a leader moving. Shown at INFO.
_EXPECTED = (
    re.compile(
        r"GroupCoordinatorNotAvailable|NotCoordinatorForGroup|CoordinatorLoadInProgress"
        r"|Coordinator load in progress"
    ),
    re.compile(r"NotLeaderForPartition|LeaderNotAvailable"),
)


class ExpectedConditionFilter(logging.Filter):
    """Demotes the clients' errors for normal, retried conditions to INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO and record.name.startswith(CLIENT_LOGGERS):
            message = str(record.msg) + " " + " ".join(map(str, record.args or ()))
            if any(p.search(message) for p in _EXPECTED):
                record.levelno, record.levelname = logging.INFO, "INFO"
        return True


# --- rate limit ----------------------------------------------------------------------------
class RateLimitFilter(logging.Filter):
    """Warnings and errors: a token bucket per message template and one for all of them.

    A template (logger + unformatted message) may log ``burst`` lines at once, then one every
    ``per_template_s``; all templates together at most ``rate`` lines a second. What is cut
    is counted; :meth:`flush` (called by :func:`configure`'s timer thread) logs one line with
    the count, and one line once nothing was cut for ``quiet_s`` seconds.
    """

    def __init__(
        self,
        rate: float = 5.0,
        burst: int = 20,
        per_template_burst: int = 3,
        per_template_s: float = 5.0,
        quiet_s: float = 5.0,
        clock: Any = time.monotonic,
    ) -> None:
        super().__init__()
        self.rate, self.burst = rate, burst
        self.per_template_burst, self.per_template_s = per_template_burst, per_template_s
        self.quiet_s = quiet_s
        self.clock = clock
        self._tokens = float(burst)
        self._filled = clock()
        self._templates: dict[tuple[str, str], tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._suppressed: Counter[str] = Counter()  # since the last summary, by logger
        self._episode_start: float | None = None
        self._episode_total = 0
        self._last_suppressed = 0.0
        self._emitting = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or getattr(self._emitting, "on", False):
            return True
        now = self.clock()
        key = (record.name, str(record.msg)[:200])
        with self._lock:
            self._tokens = min(self.burst, self._tokens + (now - self._filled) * self.rate)
            self._filled = now
            tokens, seen = self._templates.get(key, (float(self.per_template_burst), now))
            tokens = min(self.per_template_burst, tokens + (now - seen) / self.per_template_s)
            if tokens >= 1 and self._tokens >= 1:
                self._templates[key] = (tokens - 1, now)
                self._tokens -= 1
                return True
            self._templates[key] = (tokens, now)
            if len(self._templates) > 10_000:  # templates are code, but be sure
                self._templates.clear()
            self._suppressed[record.name] += 1
            self._episode_total += 1
            self._last_suppressed = now
            if self._episode_start is None:
                self._episode_start = now
        return False

    def flush(self, logger: logging.Logger) -> None:
        """Log what was suppressed since the last call, and the end of a flood."""
        now = self.clock()
        with self._lock:
            suppressed, self._suppressed = self._suppressed, Counter()
            over = self._episode_start is not None and now - self._last_suppressed >= self.quiet_s
            started, total = self._episode_start, self._episode_total
            if over:
                self._episode_start, self._episode_total = None, 0
        self._emitting.on = True
        try:
            if suppressed:
                loggers = ", ".join(f"{name} {n}" for name, n in suppressed.most_common(3))
                logger.warning(
                    "suppressed %d repeated log lines (%s)", sum(suppressed.values()), loggers
                )
            if over and started is not None:
                logger.warning(
                    "errors stopped: no repeated error for %.0f s after a flood of %.1f s "
                    "(%d lines suppressed in all)",
                    self.quiet_s,
                    self._last_suppressed - started,
                    total,
                )
        finally:
            self._emitting.on = False


# --- formatters ----------------------------------------------------------------------------
class _JsonFormatter(JsonFormatter):
    def add_fields(
        self, log_record: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_record["time"] = self.formatTime(record)
        log_record["level"] = record.levelname
        log_record["logger"] = record.name
        log_record["message"] = record.getMessage()
        where = _WHERE.search(log_record["message"])
        if where is not None:
            log_record["topic"] = where["topic"]
            log_record["partition"] = int(where["partition"])
            log_record["offset"] = int(where["offset"])
        for name in ("topic", "partition", "offset"):
            value = getattr(record, name, None)
            if value is not None:
                log_record[name] = value
        if record.exc_text:
            log_record["exception"] = record.exc_text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return f"{seconds}.{int(record.msecs):03d}Z"


def formatter(fmt: LogFormat) -> logging.Formatter:
    if fmt == "json":
        return _JsonFormatter(json_ensure_ascii=False)
    text = logging.Formatter(TEXT_FORMAT)
    text.converter = time.gmtime
    return text


# --- setup ---------------------------------------------------------------------------------
_state: dict[str, Any] = {}


def configure(
    level: str = "info",
    fmt: LogFormat = "text",
    secrets: Iterable[str] = (),
    stream: Any = None,
    flush_interval_s: float = 1.0,
) -> logging.Handler:
    """Replace the root logger's handlers with one that formats, masks and rate-limits.

    Call once at command start, before faust or a Kafka client logs (faust's worker is told
    to leave logging alone). Returns the handler.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(ExpectedConditionFilter())
    handler.addFilter(PrivacyFilter(secrets))
    limiter = RateLimitFilter()
    handler.addFilter(limiter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    numeric = logging.getLevelName(level.upper())
    root.setLevel(numeric)
    for name in CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(numeric if numeric <= logging.DEBUG else logging.WARNING)
    _start_flusher(limiter, flush_interval_s)
    _state["limiter"] = limiter
    return handler


def _start_flusher(limiter: RateLimitFilter, interval: float) -> None:
    stop = _state.pop("stop", None)
    if stop is not None:
        stop.set()
    stop = threading.Event()
    _state["stop"] = stop
    logger = logging.getLogger("guardrail.logs")

    def run() -> None:
        while not stop.wait(interval):
            limiter.flush(logger)

    threading.Thread(target=run, name="guardrail-log-flush", daemon=True).start()


def librdkafka_config(level: int | None = None) -> dict[str, Any]:
    """confluent-kafka settings that route librdkafka's log through Python logging.

    Its level follows the ``librdkafka`` logger (syslog levels: 4 warning, 6 info, 7 debug,
    with the broker, security and group contexts); connection closes by idle brokers are not
    logged.
    """
    logger = logging.getLogger(LIBRDKAFKA_LOGGER)
    effective = logger.getEffectiveLevel() if level is None else level
    syslog = 7 if effective <= logging.DEBUG else 6 if effective <= logging.INFO else 4
    config: dict[str, Any] = {"logger": logger, "log_level": syslog, "log.connection.close": False}
    if effective <= logging.DEBUG:  # librdkafka logs debug lines only for chosen contexts
        config["debug"] = "broker,security,cgrp"
    return config
