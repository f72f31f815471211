"""A real HTTP server on loopback for tests: serves a folder (with byte ranges and index pages),
JSON routes (e.g. a CKAN Action API) and paths that fail with 503 a given number of times."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

Route = Callable[[dict[str, list[str]]], Any]  # query parameters -> JSON answer


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LoopbackServer:
    """``with LoopbackServer(folder) as server: server.url("a/b.jsonl")``."""

    def __init__(self, root: Path):
        self.root = root
        self.routes: dict[str, Route] = {}
        self.fail_first: dict[str, int] = {}  # path -> how many more requests answer 503
        self.failed: dict[str, int] = {}  # path -> 503s sent
        self.requests: list[str] = []  # method and path (with query) of every request
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def base(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str = "") -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def __enter__(self) -> LoopbackServer:
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any):
                super().__init__(*args, directory=str(server.root), **kwargs)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
                pass

            def do_HEAD(self) -> None:
                self._answer(body=False)

            def do_GET(self) -> None:
                self._answer(body=True)

            def _answer(self, body: bool) -> None:
                parts = urlsplit(self.path)
                with server._lock:
                    server.requests.append(f"{self.command} {self.path}")
                    if server.fail_first.get(parts.path, 0) > 0:
                        server.fail_first[parts.path] -= 1
                        server.failed[parts.path] = server.failed.get(parts.path, 0) + 1
                        self.send_error(503, "Slow Down")
                        return
                if parts.path in server.routes:
                    payload = json.dumps(server.routes[parts.path](parse_qs(parts.query))).encode()
                    self._send(200, payload, "application/json", body)
                    return
                target = Path(self.translate_path(parts.path))
                if target.is_dir():
                    if body:  # an HTML index page with links
                        super().do_GET()
                    else:
                        super().do_HEAD()
                    return
                if not target.is_file():
                    self.send_error(404, "Not Found")
                    return
                data = target.read_bytes()
                ranged = self.headers.get("Range", "")
                if ranged.startswith("bytes="):
                    first, _, last = ranged[6:].partition("-")
                    start = int(first)
                    end = min(int(last) if last else len(data) - 1, len(data) - 1)
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
                    data = data[start : end + 1]
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Accept-Ranges", "bytes")
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def _send(self, status: int, payload: bytes, content_type: str, body: bool) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if body:
                    self.wfile.write(payload)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
