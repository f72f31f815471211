"""A real HTTP server on loopback that speaks the part of the Hugging Face Hub API a publish uses.

``huggingface_hub`` (2.4) is pointed at it with ``HfApi(endpoint=server.endpoint)`` and makes its own
real requests; nothing of the client is patched. Served:

- ``POST /api/repos/create`` (409 when the repository exists), ``GET /api/{type}s/{repo}`` and
  ``GET /api/{type}s/{repo}/revision/{rev}`` (repo_info), ``GET /api/{type}s/{repo}/refs``;
- ``POST /api/{type}s/{repo}/branch/{branch}`` (409 when it exists; ``startingPoint`` honoured);
- ``GET /api/{type}s/{repo}/tree/{rev}[/{path}]`` (list_repo_files / list_repo_tree);
- ``POST /api/validate-yaml`` (the dataset card's front matter must be a YAML mapping);
- ``POST /api/{type}s/{repo}/preupload/{rev}``: every file is answered upload mode ``regular``,
  so the client sends contents inline in the commit and never takes the LFS or Xet path (the
  client uploads through Xet whenever ``hf_xet`` is installed and a file is ``lfs``);
- ``POST /api/{type}s/{repo}/commit/{rev}``: the NDJSON body (``header``, ``file`` in base64,
  ``deletedFile``, ``deletedFolder``); ``lfsFile`` lines are refused, having never been asked for;
- ``GET /api/whoami-v2``.

Every request needs ``Authorization: Bearer <token>`` (401 otherwise, as the Hub answers a bad
token). Requests to anything else are answered 404 and kept in ``unhandled`` so a test notices a
client path it did not expect. The server binds 127.0.0.1 only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

REPO_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}
BAD_CREDENTIALS = "Invalid credentials in Authorization header"
GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n*.tar filter=lfs diff=lfs merge=lfs -text\n"


def git_blob_sha1(content: bytes) -> str:
    """The git object id of a blob: what the Hub reports as a regular file's ``oid``."""
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code


@dataclass
class Commit:
    repo_id: str
    revision: str
    oid: str
    summary: str
    description: str
    added: list[str]
    deleted: list[str]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    heads: dict[str, str] = field(default_factory=dict)  # branch -> commit oid
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit oid -> path -> content

    def head(self, revision: str) -> str:
        if revision in self.heads:
            return self.heads[revision]
        if revision in self.trees:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def tree(self, revision: str) -> dict[str, bytes]:
        return self.trees[self.head(revision)]


class HubServer:
    """``with HubServer(token="hf_...") as hub: HfApi(endpoint=hub.endpoint, token=...)``."""

    def __init__(self, token: str):
        self.token = token
        self.repos: dict[tuple[str, str], Repo] = {}
        self.commits: list[Commit] = []  # commits made through the API (not a repository's first)
        self.requests: list[str] = []  # method and path of every request
        self.unhandled: list[str] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ what tests read

    @property
    def endpoint(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def repo(self, repo_id: str, repo_type: str = "dataset") -> Repo:
        return self.repos[(repo_type, repo_id)]

    def files(self, repo_id: str, revision: str = "main", repo_type: str = "dataset") -> dict[str, bytes]:
        with self._lock:
            return dict(self.repo(repo_id, repo_type).tree(revision))

    def create_repo(self, repo_id: str, private: bool, repo_type: str = "dataset") -> Repo:
        """A repository as the Hub creates one: a first commit with ``.gitattributes`` on ``main``."""
        with self._lock:
            return self._create(repo_type, repo_id, private)

    # ------------------------------------------------------------ state changes (under the lock)

    def _create(self, repo_type: str, repo_id: str, private: bool) -> Repo:
        repo = Repo(repo_type=repo_type, repo_id=repo_id, private=private)
        first = self._new_oid(repo_id, "initial commit", {".gitattributes": GITATTRIBUTES})
        repo.trees[first] = {".gitattributes": GITATTRIBUTES}
        repo.heads["main"] = first
        self.repos[(repo_type, repo_id)] = repo
        return repo

    def _new_oid(self, *parts: Any) -> str:
        seed = json.dumps([len(self.commits), len(self.repos), repr(parts)]).encode()
        return hashlib.sha1(seed).hexdigest()

    def _commit(self, repo: Repo, revision: str, lines: list[dict[str, Any]]) -> Commit:
        if revision not in repo.heads:
            raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")
        header = next((line["value"] for line in lines if line.get("key") == "header"), None)
        if not header or not header.get("summary"):
            raise HubError(400, "The commit has no header with a summary")
        parent = repo.heads[revision]
        if header.get("parentCommit") and header["parentCommit"] != parent:
            raise HubError(412, "A commit has happened since the parent commit")
        tree = dict(repo.trees[parent])
        added, deleted = self._apply(tree, lines)
        oid = self._new_oid(repo.repo_id, revision, parent, header["summary"], sorted(added), sorted(deleted))
        repo.trees[oid] = tree
        repo.heads[revision] = oid
        commit = Commit(
            repo.repo_id, revision, oid, header["summary"], header.get("description", ""), added, deleted
        )
        self.commits.append(commit)
        return commit

    @staticmethod
    def _apply(tree: dict[str, bytes], lines: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        added: list[str] = []
        deleted: list[str] = []
        for line in lines:
            key, value = line.get("key"), line.get("value", {})
            if key == "file":
                if value.get("encoding") != "base64":
                    raise HubError(400, f"unsupported encoding for {value.get('path')}")
                tree[value["path"]] = base64.b64decode(value["content"])
                added.append(value["path"])
            elif key == "deletedFile":
                if value["path"] not in tree:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
                del tree[value["path"]]
                deleted.append(value["path"])
            elif key == "deletedFolder":
                prefix = value["path"].rstrip("/") + "/"
                gone = [path for path in tree if path.startswith(prefix)]
                if not gone:
                    raise HubError(404, "A file with this name doesn't exist", "EntryNotFound")
                for path in gone:
                    del tree[path]
                deleted.extend(gone)
            elif key == "lfsFile":
                raise HubError(
                    400, f"{value.get('path')}: no LFS object was uploaded (preupload said regular)"
                )
            elif key != "header":
                raise HubError(400, f"unknown commit line {key!r}")
        return added, deleted

    # ------------------------------------------------------------ HTTP

    def handle(self, method: str, raw_path: str, headers: Any, body: bytes) -> tuple[int, Any]:
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise HubError(401, BAD_CREDENTIALS)
        parts = urlsplit(raw_path)
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        with self._lock:
            return self._route(method, segments, query, body)

    def _route(self, method: str, segments: list[str], query: dict[str, str], body: bytes) -> tuple[int, Any]:
        match (method, segments):
            case ("POST", ["api", "repos", "create"]):
                return self._create_repo(json.loads(body))
            case ("POST", ["api", "validate-yaml"]):
                return self._validate_yaml(json.loads(body))
            case ("GET", ["api", "whoami-v2"]):
                return 200, {"type": "user", "name": "jaif-bot", "auth": {"type": "access_token"}}
            case (_, ["api", kind, org, name, *rest]) if kind in REPO_TYPES:
                repo = self.repos.get((REPO_TYPES[kind], f"{org}/{name}"))
                if repo is None:
                    raise HubError(404, "Repository not found", "RepoNotFound")
                return self._repo_route(method, repo, rest, query, body)
        raise HubError(404, f"not served by this test hub: {method} /{'/'.join(segments)}", "NotServed")

    def _repo_route(
        self, method: str, repo: Repo, rest: list[str], query: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        match (method, rest):
            case ("GET", []):
                return 200, self._info(repo, "main")
            case ("GET", ["revision", revision]):
                return 200, self._info(repo, revision)
            case ("GET", ["refs"]):
                branches = [
                    {"name": b, "ref": f"refs/heads/{b}", "targetCommit": o} for b, o in repo.heads.items()
                ]
                return 200, {"branches": branches, "tags": [], "converts": []}
            case ("POST", ["branch", branch]):
                return self._create_branch(repo, branch, json.loads(body or b"{}"))
            case ("GET", ["tree", revision, *path]):
                return 200, self._tree(
                    repo, revision, "/".join(path), query.get("recursive", "").lower() == "true"
                )
            case ("POST", ["preupload", revision]):
                return 200, self._preupload(repo, revision, json.loads(body))
            case ("POST", ["commit", revision]):
                lines = [json.loads(line) for line in body.splitlines() if line.strip()]
                commit = self._commit(repo, revision, lines)
                url = f"{self.endpoint}/{repo.repo_type}s/{repo.repo_id}/commit/{commit.oid}"
                return 200, {"success": True, "commitOid": commit.oid, "commitUrl": url, "hookOutput": ""}
        raise HubError(404, f"not served by this test hub: {method} {'/'.join(rest)}", "NotServed")

    def _create_repo(self, payload: dict[str, Any]) -> tuple[int, Any]:
        repo_type = payload.get("type") or "model"
        repo_id = (
            f"{payload['organization']}/{payload['name']}" if payload.get("organization") else payload["name"]
        )
        url = (
            f"{self.endpoint}/{repo_type}s/{repo_id}"
            if repo_type != "model"
            else f"{self.endpoint}/{repo_id}"
        )
        if (repo_type, repo_id) in self.repos:
            return 409, {"error": f"You already created this {repo_type} repo", "url": url}
        self._create(repo_type, repo_id, private=payload.get("visibility", "public") == "private")
        return 200, {"url": url, "name": repo_id}

    @staticmethod
    def _validate_yaml(payload: dict[str, Any]) -> tuple[int, Any]:
        content: str = payload.get("content", "")
        if content.startswith("---"):
            front = content[3:].split("\n---", 1)[0]
            try:
                metadata = yaml.safe_load(front)
            except yaml.YAMLError as exc:
                return 400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []}
            if metadata is not None and not isinstance(metadata, dict):
                return 400, {"errors": [{"message": "metadata must be a YAML mapping"}], "warnings": []}
        return 200, {"errors": [], "warnings": []}

    def _info(self, repo: Repo, revision: str) -> dict[str, Any]:
        tree = repo.tree(revision)
        siblings = [{"rfilename": path, "size": len(data)} for path, data in sorted(tree.items())]
        return {"id": repo.repo_id, "private": repo.private, "sha": repo.head(revision), "siblings": siblings}

    def _create_branch(self, repo: Repo, branch: str, payload: dict[str, Any]) -> tuple[int, Any]:
        if branch in repo.heads:
            raise HubError(409, f"Reference already exists: refs/heads/{branch}")
        repo.heads[branch] = repo.head(payload.get("startingPoint") or "main")
        return 200, {}

    @staticmethod
    def _tree(repo: Repo, revision: str, path: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = f"{path}/" if path else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, data in sorted(repo.tree(revision).items()):
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :].split("/")
            file = {"type": "file", "path": name, "size": len(data), "oid": git_blob_sha1(data)}
            if recursive:
                for depth in range(1, len(rest)):
                    folder = prefix + "/".join(rest[:depth])
                    entries.setdefault(
                        folder, {"type": "directory", "path": folder, "size": 0, "oid": "0" * 40}
                    )
                entries[name] = file
            elif len(rest) == 1:
                entries[name] = file
            else:
                folder = prefix + rest[0]
                entries.setdefault(folder, {"type": "directory", "path": folder, "size": 0, "oid": "0" * 40})
        return sorted(entries.values(), key=lambda entry: entry["path"])

    @staticmethod
    def _preupload(repo: Repo, revision: str, payload: dict[str, Any]) -> dict[str, Any]:
        tree = repo.tree(revision)
        answers = []
        for item in payload.get("files", []):
            present = tree.get(item["path"])
            answers.append(
                {
                    "path": item["path"],
                    "uploadMode": "regular",
                    "shouldIgnore": False,
                    "oid": git_blob_sha1(present) if present is not None else None,
                }
            )
        return {"files": answers, "commitOid": repo.head(revision)}

    def __enter__(self) -> HubServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base signature
                pass

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def do_PUT(self) -> None:
                self._answer()

            def do_DELETE(self) -> None:
                self._answer()

            def _answer(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server._lock:
                    server.requests.append(f"{self.command} {self.path}")
                try:
                    status, payload = server.handle(self.command, self.path, self.headers, body)
                    self._send(status, payload)
                except HubError as exc:
                    if exc.code == "NotServed":
                        with server._lock:
                            server.unhandled.append(f"{self.command} {self.path}")
                    self._send(exc.status, {"error": exc.message}, exc)
                except (ValueError, KeyError) as exc:  # a body the Hub would not accept either
                    self._send(400, {"error": f"bad request: {exc!r}"}, HubError(400, "bad request"))

            def _send(self, status: int, payload: Any, error: HubError | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if error is not None:
                    self.send_header("X-Error-Message", error.message)
                    if error.code and error.code != "NotServed":
                        self.send_header("X-Error-Code", error.code)
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
