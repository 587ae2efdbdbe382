"""The admin client of the start-up checks, and one line that says why Kafka cannot be used.

librdkafka reports a refused login or a failed TLS handshake only through its error
callback; the call that then times out says "Broker transport failure". The client here
keeps what the callback said, so the failure names its cause: ``authentication failed`` or
a TLS problem (a broker that cannot be reached is said by the caller). No message quotes a
credential.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient

from guardrail.config import Settings
from guardrail.errors import KafkaUnavailable


class CheckedAdmin:
    """An ``AdminClient`` that remembers the client-level errors librdkafka reported."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.errors: list[KafkaError] = []
        config: dict[str, Any] = {**settings.confluent_config(), "error_cb": self.errors.append}
        self.client = AdminClient(config)

    def raise_cause(self) -> None:
        """Raise a :class:`KafkaUnavailable` naming a refused login or TLS handshake, if
        librdkafka reported one; otherwise return (the caller says "cannot reach")."""
        self.client.poll(1.0)  # serve the error callbacks queued while the call waited
        cause = refused(self.settings, self.errors)
        if cause is not None:
            raise cause


def refused(settings: Settings, errors: list[KafkaError]) -> KafkaUnavailable | None:
    """Authentication or TLS failure among ``errors``, as one line; None if neither."""
    servers = settings.bootstrap_servers
    codes = {error.code() for error in errors}
    if KafkaError._AUTHENTICATION in codes:
        who = f" as {settings.sasl_username!r}" if settings.sasl_username else ""
        return KafkaUnavailable(
            f"authentication failed at {servers} ({settings.security_protocol}, "
            f"{settings.sasl_mechanism}{who}): check GUARDRAIL_SASL_USERNAME, "
            "GUARDRAIL_SASL_PASSWORD and GUARDRAIL_SASL_MECHANISM"
        )
    if KafkaError._SSL in codes:
        reason = _reason(next(e for e in errors if e.code() == KafkaError._SSL))
        return KafkaUnavailable(
            f"TLS handshake with {servers} failed ({reason}): check GUARDRAIL_SSL_CAFILE and "
            "GUARDRAIL_SSL_CHECK_HOSTNAME"
        )
    return None


def _reason(error: object) -> str:
    text = error.str() if isinstance(error, KafkaError) else str(error)
    # librdkafka prefixes the broker's address and appends timing; keep the cause.
    return text.split(": ", 1)[-1].split(" (after ")[0].strip()[:200]
