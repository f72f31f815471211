"""A fault-injecting HTTP proxy on loopback, in front of an S3 server (``moto_server``), for tests.

Every request is forwarded to the upstream server and its answer sent back, unless a scheduled
fault matches it first. A :class:`Fault` hits ``times`` requests of one kind of S3 access, after
letting the first ``after`` of them through:

- ``list``: a bucket listing (``GET /bucket?list-type=2…`` or a plain ``GET /bucket``),
- ``open``: a ``HEAD`` of an object (what opening a file asks first),
- ``read``: a ``GET`` of an object (with or without ``Range``),

optionally only for keys containing ``key``. What it does instead of the store's answer:

- ``slowdown``: ``503`` with an S3 ``SlowDown`` error document,
- ``internal``: ``500`` with an S3 ``InternalError`` error document,
- ``reset``: the connection is reset (RST) before any answer,
- ``truncate``: the real status and headers (with the full ``Content-Length``), then only the
  first half of the body, and the connection is reset.

The proxy records every request it saw (:attr:`FaultProxy.seen`), so a test can count the tries
of one request.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
ERROR_ANSWERS = {
    "slowdown": (503, "SlowDown", "Please reduce your request rate."),
    "internal": (500, "InternalError", "We encountered an internal error. Please try again."),
}
FAULT_KINDS = (*ERROR_ANSWERS, "reset", "truncate")


@dataclass
class Fault:
    """``fault`` on ``times`` requests of an ``access`` (list, open, read) whose key has ``key``,
    after ``after`` such requests went through."""

    access: str
    fault: str
    times: int
    key: str = ""
    after: int = 0
    matched: int = 0
    injected: int = 0

    def __post_init__(self) -> None:
        if self.access not in ("list", "open", "read") or self.fault not in FAULT_KINDS:
            raise ValueError(f"unknown fault {self.access}/{self.fault}")

    def hits(self, access: str, key: str) -> bool:
        """Whether this request gets the fault (counting it when it is of this access and key)."""
        if access != self.access or self.key not in key:
            return False
        self.matched += 1
        if self.after < self.matched <= self.after + self.times:
            self.injected += 1
            return True
        return False


@dataclass(frozen=True)
class Seen:
    """One request the proxy received: what kind of access, the object key, its ``Range``, the fault."""

    method: str
    access: str
    bucket: str
    key: str
    range: str | None
    fault: str | None


def access_of(method: str, path: str, query: str) -> tuple[str, str, str]:
    """(access, bucket, key) of a path-style S3 request: ``list``, ``open``, ``read`` or ``other``."""
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    params = parse_qs(query, keep_blank_values=True)
    if method == "GET" and not key and ("list-type" in params or not params):
        return "list", bucket, params.get("prefix", [""])[0]
    if method == "HEAD" and key:
        return "open", bucket, key
    if method == "GET" and key and not params:
        return "read", bucket, key
    return "other", bucket, key


@dataclass
class FaultProxy:
    """``with FaultProxy(upstream) as proxy``: point clients at ``proxy.endpoint``; add ``proxy.faults``."""

    upstream: str
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    endpoint: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, access: str, fault: str, times: int, key: str = "", after: int = 0) -> Fault:
        rule = Fault(access, fault, times, key, after)
        with self._lock:
            self.faults.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.seen.clear()

    def tries(self, access: str, key: str = "") -> list[Seen]:
        """The requests of one kind of access (for keys containing ``key``), in arrival order."""
        with self._lock:
            return [s for s in self.seen if s.access == access and key in s.key]

    def _decide(self, method: str, access: str, bucket: str, key: str, range_: str | None) -> str | None:
        with self._lock:
            hit = [f.fault for f in self.faults if f.hits(access, key)]  # every rule counts the request
            fault = hit[0] if hit else None
            self.seen.append(Seen(method, access, bucket, key, range_, fault))
            return fault

    @contextmanager
    def running(self) -> Iterator[FaultProxy]:
        upstream = urlsplit(self.upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                split = urlsplit(self.path)
                access, bucket, key = access_of(self.command, split.path, split.query)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._decide(self.command, access, bucket, key, self.headers.get("Range"))
                if fault == "reset":
                    self._reset()
                    return
                if fault in ERROR_ANSWERS:
                    self._error(*ERROR_ANSWERS[fault], split.path)
                    return
                status, headers, payload = self._upstream(body)
                self.send_response(status)
                for name, value in headers:  # a HEAD answer keeps the object's Content-Length
                    dropped = name.lower() in HOP_BY_HOP or (
                        self.command != "HEAD" and name.lower() == "content-length"
                    )
                    if not dropped:
                        self.send_header(name, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command == "HEAD":
                    return
                if fault == "truncate":
                    self.wfile.write(payload[: len(payload) // 2])
                    self.wfile.flush()
                    self._reset()
                    return
                self.wfile.write(payload)

            def _upstream(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
                connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    answer = connection.getresponse()
                    return answer.status, answer.getheaders(), answer.read()
                finally:
                    connection.close()

            def _error(self, status: int, code: str, message: str, resource: str) -> None:
                document = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    f"<Error><Code>{code}</Code><Message>{message}</Message>"
                    f"<Resource>{resource}</Resource><RequestId>fault-proxy</RequestId></Error>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(document)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(document)

            def _reset(self) -> None:
                """Close with RST (linger 0), as a dropped connection looks to the client."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                self.connection.close()

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
