"""HTTP for the Dataspace Protocol: a small JSON server for endpoints and callbacks, and a client.

Both sides of the protocol are HTTP servers (the provider's endpoints, the consumer's
callback endpoints) and HTTP clients. The server maps protocol errors to the status codes the
DSP HTTPS binding names: an invalid message or a message invalid in the process's current state
is answered 400 with an error body, an unknown process 404. The client sends JSON with bounded
retries on transient failures, never follows redirects, verifies TLS unless told otherwise, and
keeps tokens out of every error message. Every message either side sends or accepts can be
written to a transcript (JSON lines, tokens redacted) for auditors.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import httpx

from connectors.dsp.protocol import InvalidTransition, MessageError, UnknownProcess, error_body
from connectors.retry import TRANSIENT_HTTP, RetryPolicy

log = logging.getLogger("jaif.dsp")

JSON = "application/json"
REDACTED = "[redacted]"
_SECRET_NAMES = re.compile(r"authorization|token|secret|password|api[-_]?key", re.I)
MAX_MESSAGE_BYTES = 4 << 20  # a DSP message is small; a larger body is refused


def redact(value: Any) -> Any:
    """``value`` with every secret-looking field and endpoint property value replaced."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if _SECRET_NAMES.search(str(key)) and isinstance(item, str):
                out[key] = REDACTED
            elif str(key) in ("endpointProperties", "dspace:endpointProperties"):
                out[key] = [_redact_property(p) for p in (item if isinstance(item, list) else [item])]
            else:
                out[key] = redact(item)
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


def _redact_property(prop: Any) -> Any:
    if isinstance(prop, Mapping) and _SECRET_NAMES.search(str(prop.get("name", ""))):
        return {**prop, "value": REDACTED}
    return redact(prop)


class Transcript:
    """Every DSP message sent or received, as JSON lines with tokens redacted.

    With ``buffer=True`` entries are kept in memory until :meth:`attach` names the file (a run's
    log folder is only known once planning is over), then written there and appended to from
    then on; without a file and without ``buffer`` nothing is kept.
    """

    def __init__(self, path: Path | None = None, buffer: bool = False) -> None:
        self.path: Path | None = None
        self.buffer = buffer
        self._pending: list[str] = []
        self._lock = threading.Lock()
        if path is not None:
            self.attach(path)

    def attach(self, path: Path) -> None:
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("a") as out:
                out.writelines(self._pending)
            self._pending = []
            self.path = path

    def record(self, direction: str, method: str, url: str, status: int | None, body: Any) -> None:
        entry = {
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "direction": direction,
            "method": method,
            "url": url,
            "status": status,
            "message": redact(body),
        }
        line = json.dumps(entry, sort_keys=True) + "\n"
        with self._lock:
            if self.path is None:
                if self.buffer:
                    self._pending.append(line)
                return
            with self.path.open("a") as out:
                out.write(line)


# ---------------------------------------------------------------------------------------------- server


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]
    headers: Mapping[str, str]
    body: bytes
    query: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as exc:
            raise MessageError(f"body is not JSON: {exc}") from None


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterable[bytes] | None = None  # raw bytes instead of JSON (the data plane)


Handler = Callable[[Request], Response]
# (request, error message type) -> the (providerPid, consumerPid) an error answer names.
ProcessIds = Callable[[Request, str], tuple[str | None, str | None]]


class JsonServer:
    """A threaded HTTP server that routes ``(method, path pattern)`` to handlers.

    Patterns are paths with ``{name}`` placeholders (one path segment each) and, last, at most one
    ``{name:path}`` placeholder (the rest of the path, slashes included); values are URL-decoded.
    ``error_type`` names the DSP error message type of this route's 400 and 404 answers.
    """

    def __init__(
        self,
        host: str,
        port: int,
        transcript: Transcript | None = None,
        name: str = "dsp",
        process_ids: ProcessIds | None = None,
    ) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler, str]] = []
        self.transcript = transcript or Transcript()
        self.name = name
        self.process_ids = process_ids or message_process_ids
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                log.debug("%s %s", server.name, format % args)

            def do_GET(self) -> None:  # noqa: N802 - stdlib naming
                server._dispatch(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                server._dispatch(self, "POST")

            def do_HEAD(self) -> None:  # noqa: N802
                server._dispatch(self, "HEAD")

        self._server = ThreadingHTTPServer((host, port), _Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def url(self, scheme: str = "http") -> str:
        host, port = self.address
        return f"{scheme}://{host}:{port}"

    def wrap_tls(self, certfile: str, keyfile: str) -> None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    def route(
        self, method: str, pattern: str, handler: Handler, error_type: str = "ContractNegotiationError"
    ) -> None:
        regex = re.escape(pattern.rstrip("/"))
        regex = re.sub(r"\\\{(\w+):path\\\}", r"(?P<\1>.+?)", regex)
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", regex)
        self.routes.append((method, re.compile(f"^{regex}/?$"), handler, error_type))

    def start(self) -> JsonServer:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _dispatch(self, http: BaseHTTPRequestHandler, method: str) -> None:
        target = urlsplit(http.path)
        path = target.path
        length = int(http.headers.get("Content-Length") or 0)
        if length > MAX_MESSAGE_BYTES:
            self._send(http, Response(413, {"error": "message too large"}), method)
            return
        body = http.rfile.read(length) if length else b""
        lookup = "GET" if method == "HEAD" else method
        for route_method, regex, handler, error_type in self.routes:
            match = regex.match(path)
            if route_method != lookup or match is None:
                continue
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            request = Request(method, path, params, http.headers, body, dict(parse_qsl(target.query)))
            response = self._call(handler, request, error_type)
            if method == "POST":
                self.transcript.record("in", method, path, response.status, _json_or_text(body))
            self._send(http, response, method)
            return
        self._send(
            http,
            Response(404, error_body("ContractNegotiationError", f"no endpoint {method} {path}", 404)),
            method,
        )

    def _call(self, handler: Handler, request: Request, error_type: str) -> Response:
        try:
            return handler(request)
        except (MessageError, InvalidTransition) as exc:
            return self.refuse(400, error_type, str(exc), request)
        except UnknownProcess as exc:
            return self.refuse(404, error_type, f"no process {exc.args[0]}", request)
        except Exception as exc:  # a handler bug must not kill the server thread
            log.exception("%s: %s %s failed", self.name, request.method, request.path)
            return Response(500, error_body(error_type, f"internal error: {type(exc).__name__}", 500))

    def refuse(self, status: int, error_type: str, reason: str, request: Request) -> Response:
        """A DSP error answer naming the process ids :attr:`process_ids` finds for ``request``; logged."""
        log.info(
            "%s refused status=%d path=%s reason=%s", self.name, status, request.path, json.dumps(reason)
        )
        return Response(
            status, error_body(error_type, reason, status, *self.process_ids(request, error_type))
        )

    def _send(self, http: BaseHTTPRequestHandler, response: Response, method: str) -> None:
        try:
            http.send_response(response.status)
            for key, value in response.headers.items():
                http.send_header(key, value)
            if response.stream is not None:
                if "Content-Length" not in response.headers:
                    http.send_header("Transfer-Encoding", "chunked")
                http.end_headers()
                if method != "HEAD":
                    self._write_stream(http, response)
                return
            payload = b"" if response.body is None else json.dumps(response.body).encode()
            if response.body is not None and "Content-Type" not in response.headers:
                http.send_header("Content-Type", JSON)
            http.send_header("Content-Length", str(len(payload)))
            http.end_headers()
            if method != "HEAD":
                http.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("%s: client went away", self.name)

    @staticmethod
    def _write_stream(http: BaseHTTPRequestHandler, response: Response) -> None:
        chunked = "Content-Length" not in response.headers
        assert response.stream is not None
        for chunk in response.stream:
            if not chunk:
                continue
            if chunked:
                http.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            else:
                http.wfile.write(chunk)
        if chunked:
            http.wfile.write(b"0\r\n\r\n")


def _json_or_text(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError:
        return body[:200].decode("utf-8", "replace")


def message_process_ids(request: Request, error_type: str) -> tuple[str | None, str | None]:
    """The provider and consumer process ids the request's message carries."""
    try:
        msg = request.json()
    except MessageError:
        return None, None
    if not isinstance(msg, Mapping):
        return None, None
    provider = msg.get("providerPid") or msg.get("dspace:providerPid")
    consumer = msg.get("consumerPid") or msg.get("dspace:consumerPid")
    return (provider if isinstance(provider, str) else None, consumer if isinstance(consumer, str) else None)


# ---------------------------------------------------------------------------------------------- client


class PeerError(RuntimeError):
    """The peer could not be reached, answered an error, or answered something that is not DSP."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


PEER_RETRIES = RetryPolicy(attempts=3, initial_delay_s=0.2, max_delay_s=5.0)


class DspClient:
    """JSON requests to one peer: bounded retries on transient failures, no redirects, tokens hidden."""

    def __init__(
        self,
        authorization: str | None = None,
        timeout_s: float = 30.0,
        retries: RetryPolicy = PEER_RETRIES,
        verify: bool | str = True,
        transcript: Transcript | None = None,
    ) -> None:
        headers = {"Accept": JSON}
        if authorization:
            headers["Authorization"] = authorization
        self._http = httpx.Client(timeout=timeout_s, follow_redirects=False, verify=verify, headers=headers)
        self._verify = verify
        self.retries = retries
        self.transcript = transcript or Transcript()

    def close(self) -> None:
        self._http.close()

    def get_json(self, url: str) -> tuple[Any, httpx.Response]:
        response = self._send("GET", url, None)
        return self._json(response, url), response

    def post(self, url: str, body: Mapping[str, Any], expect: tuple[int, ...] = (200, 201, 204)) -> Any:
        response = self._send("POST", url, body)
        self.transcript.record("out", "POST", url, response.status_code, body)
        if response.status_code not in expect:
            raise PeerError(
                f"POST {url} answered {response.status_code}: {_short(response)}", response.status_code
            )
        return self._json(response, url) if response.content else None

    def post_response(
        self, url: str, body: Mapping[str, Any], expect: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        """POST and return the response itself (its headers matter, e.g. catalog ``Link`` pages)."""
        response = self._send("POST", url, body)
        self.transcript.record("out", "POST", url, response.status_code, body)
        if response.status_code not in expect:
            raise PeerError(
                f"POST {url} answered {response.status_code}: {_short(response)}", response.status_code
            )
        return response

    def peek_data(self, url: str, authorization: str | None, index_type: str) -> tuple[httpx.Headers, Any]:
        """GET a data address: its headers, and its body when it is a file index of ``index_type``.

        The request carries only the data address's own authorization (never the token for the
        provider's protocol endpoints) and does not follow redirects; other bodies are not read.
        """
        headers = {"Authorization": authorization} if authorization else {}
        with httpx.Client(timeout=self._http.timeout, follow_redirects=False, verify=self._verify) as plane:
            try:
                with plane.stream("GET", url, headers=headers) as response:
                    if response.is_redirect:
                        raise PeerError(f"the data address {url} redirects elsewhere; redirects are refused")
                    if response.status_code != 200:
                        raise PeerError(
                            f"the data address answered {response.status_code}", response.status_code
                        )
                    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if media != index_type:
                        return response.headers, None
                    body = b""
                    for chunk in response.iter_bytes():
                        body += chunk
                        if len(body) > MAX_MESSAGE_BYTES * 16:
                            raise PeerError("the data address's file index is too large")
            except httpx.TransportError as exc:
                raise PeerError(f"GET data address: {type(exc).__name__}: {exc}") from None
        try:
            return response.headers, json.loads(body)
        except ValueError:
            raise PeerError("the data address's file index is not JSON") from None

    def _send(self, method: str, url: str, body: Mapping[str, Any] | None) -> httpx.Response:
        delays = self.retries.delays()
        while True:
            try:
                response = self._http.request(method, url, json=body)
            except httpx.TransportError as exc:
                delay = next(delays, None)
                if delay is None:
                    raise PeerError(f"{method} {url}: {type(exc).__name__}: {exc}") from None
                time.sleep(delay)
                continue
            if response.status_code in TRANSIENT_HTTP:
                delay = next(delays, None)
                if delay is not None:
                    time.sleep(delay)
                    continue
            if response.is_redirect:
                raise PeerError(f"{method} {url} redirected to another address; redirects are refused", 302)
            if method == "GET" and response.status_code != 200:
                raise PeerError(
                    f"GET {url} answered {response.status_code}: {_short(response)}", response.status_code
                )
            return response

    @staticmethod
    def _json(response: httpx.Response, url: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PeerError(f"{url} did not answer JSON") from None


def _short(response: httpx.Response) -> str:
    try:
        body = redact(response.json())
        text = json.dumps(body)
    except ValueError:
        text = response.text
    return " ".join(text.split())[:200]


def link_next(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target of a response's ``Link`` header (catalog pagination)."""
    for part in response.headers.get_list("link", split_commas=True):
        match = re.match(r"\s*<([^>]*)>\s*;(.*)", part)
        if match and re.search(r'rel\s*=\s*"?next"?', match.group(2)):
            return str(response.url.join(match.group(1)))
    return None


# ---------------------------------------------------------------------------------------------- addresses


class UnsafeAddress(ValueError):
    """A data address this consumer refuses to fetch from."""


def _addresses(host: str) -> Iterator[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        yield ipaddress.ip_address(host.strip("[]"))
        return
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        raise UnsafeAddress(f"cannot resolve {host}: {exc}") from None
    for info in infos:
        yield ipaddress.ip_address(info[4][0].split("%")[0])


# Cloud instance-metadata services that are not link-local (AWS IPv6, Alibaba).
METADATA_ADDRESSES = frozenset({"fd00:ec2::254", "100.100.100.200"})


def check_data_address(endpoint: str, provider_endpoint: str) -> None:
    """Refuse a data address that is not plain HTTP(S) or that points where a provider must not send us.

    Never: another scheme (``file://``, ...), link-local or metadata addresses, multicast or
    unspecified addresses; loopback only when the provider itself is on loopback; plain HTTP only
    when the provider itself was reached over plain HTTP.
    """
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeAddress(f"data address {parts.scheme or '(none)'}://... is not an http(s) URL")
    provider = urlsplit(provider_endpoint)
    if parts.scheme == "http" and provider.scheme == "https":
        raise UnsafeAddress("data address uses plain http although the provider is reached over https")
    if parts.username or parts.password:
        raise UnsafeAddress("data address carries credentials in the URL")
    provider_loopback = all(a.is_loopback for a in _addresses(provider.hostname or ""))
    for address in _addresses(parts.hostname):
        if str(address) in METADATA_ADDRESSES:
            raise UnsafeAddress(f"data address {parts.hostname} is a cloud metadata address")
        if address.is_link_local or address.is_multicast or address.is_unspecified or address.is_reserved:
            raise UnsafeAddress(
                f"data address {parts.hostname} is a link-local, metadata or reserved address"
            )
        if address.is_loopback and not provider_loopback:
            raise UnsafeAddress(f"data address {parts.hostname} is loopback but the provider is not")
