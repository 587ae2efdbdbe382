"""The metrics port: ``/metrics``, ``/livez`` and ``/readyz``, served from process start.

Started before the runtime connects or restores state, so a long recovery shows as alive and
not ready rather than as a dead worker. Every other path is a 404. Nothing served here
exposes state or customer data: the probes answer ``ok`` or a fixed reason.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from guardrail.errors import GuardrailError

log = logging.getLogger(__name__)

#: A probe: (healthy, one-line reason). Called from the server's thread.
Check = Callable[[], tuple[bool, str]]


class BindError(GuardrailError):
    """The metrics port cannot be opened; the message is one line saying why and what to set."""


def always(reason: str = "ok") -> Check:
    return lambda: (True, reason)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._answer(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path in ("/livez", "/readyz"):
            check = self.server.live if path == "/livez" else self.server.ready
            try:
                healthy, reason = check()
            except Exception as exc:  # a probe that raises is a failing probe, not a crash
                healthy, reason = False, f"probe failed: {type(exc).__name__}"
            self._answer(200 if healthy else 503, (reason + "\n").encode(), "text/plain")
        else:
            self._answer(404, b"not found: /metrics, /livez, /readyz\n", "text/plain")

    def do_HEAD(self) -> None:
        self.do_GET()

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # scrapes and probes every few seconds are not news


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], registry: CollectorRegistry, live: Check, ready: Check
    ) -> None:
        self.registry = registry
        self.live = live
        self.ready = ready
        super().__init__(address, _Handler)


class HealthServer:
    """``/metrics`` of ``registry`` plus the two probes, on ``bind:port`` in a daemon thread.

    ``live`` and ``ready`` may be replaced once the runtime exists (:meth:`set_checks`);
    until then the process is alive and not ready.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        port: int,
        bind: str = "127.0.0.1",
        live: Check | None = None,
        ready: Check | None = None,
    ) -> None:
        try:
            self._server = _Server(
                (bind, port),
                registry,
                live or always("starting"),
                ready or (lambda: (False, "starting")),
            )
        except OSError as exc:
            raise BindError(describe_bind_error(exc, bind, port)) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="guardrail-metrics", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def address(self) -> str:
        return str(self._server.server_address[0])

    def set_checks(self, live: Check, ready: Check) -> None:
        self._server.live = live
        self._server.ready = ready

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def describe_bind_error(exc: OSError, bind: str, port: int) -> str:
    where = f"{bind}:{port}"
    settings = "GUARDRAIL_METRICS_PORT / GUARDRAIL_METRICS_BIND"
    if exc.errno == errno.EADDRINUSE:
        return f"cannot serve metrics on {where}: the port is in use (set {settings})"
    if isinstance(exc, socket.gaierror) or exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return f"cannot serve metrics on {where}: no such local address (set {settings})"
    if exc.errno == errno.EACCES:
        return f"cannot serve metrics on {where}: permission denied (use a port above 1023)"
    return f"cannot serve metrics on {where}: {exc.strerror or exc} (set {settings})"
