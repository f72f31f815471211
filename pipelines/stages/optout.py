"""Machine-readable text-and-data-mining opt-outs (EU DSM Directive 2019/790, Art. 4(3)).

Rights holders may reserve their works from text and data mining "by machine-readable means";
a reserved web document leaves the kept set with status ``filtered`` and one of two reasons:

``optout:tdmrep``
    W3C TDM Reservation Protocol (TDMRep, Community Group Final Report 2024-05-10). The
    ``tdm-reservation`` property (``1`` reserved, ``0`` not reserved, anything else a protocol
    error that counts as unset) and the optional ``tdm-policy`` URL come from three places, read
    in the order the report's "Processing priority" section prescribes, each later one
    superseding the earlier: (1) ``/.well-known/tdmrep.json`` of the origin, a JSON array of rules
    ``{"location": pattern, "tdm-reservation": 0|1, "tdm-policy": url}`` where the first rule whose
    pattern matches the URL's path wins (robots.txt-style patterns: ``*`` any characters, ``$``
    end of path); (2) the ``tdm-reservation`` / ``tdm-policy`` HTTP response headers of the record;
    (3) ``<meta name="tdm-reservation" content="1">`` / ``<meta name="tdm-policy">`` in the page.
    So a page whose header says ``1`` is reserved even if the site's tdmrep.json says ``0`` for its
    path, and a page whose ``<meta>`` says ``0`` is not reserved whatever header or file say.

``optout:robots``
    (a) robots.txt (RFC 9309, parsed with ``protego``): the page's URL is disallowed for one of
    the configured AI user agents (:data:`schemas.config.OPTOUT_AGENTS`), through a group naming
    that agent or, when none does, the ``*`` group (RFC 9309 §2.2.1). (b) The ``noai`` / ``noimageai``
    directives in the ``X-Robots-Tag`` response header or a ``<meta name="robots">`` tag: a
    convention introduced by DeviantArt in 2022 and adopted by other publishers ("do not use this
    content / its images for AI training"); it is not part of any standard, and the search
    directives (``noindex``, ``nofollow``, ...) are not TDM reservations. A directive scoped to a
    user agent (``X-Robots-Tag: otherbot: noai``) counts only for a configured agent. Both
    ``noai`` and ``noimageai`` count by default: a page-level reservation is resolved in the
    rights holder's favour (``x_robots_directives`` narrows it).

The signals are independent ways to reserve rights: any one reservation filters the document
(TDMRep's priority order settles conflicts *within* TDMRep only; a TDMRep ``0`` does not lift a
robots.txt disallow). The first reservation found, in the order tdmrep, robots.txt,
X-Robots-Tag / meta robots, is recorded in ``metadata["evidence"]`` (the ledger's ``evidence`` column)::

    {"signal": "tdm-reservation", "value": "1", "source": "http-header", "agent": None,
     "policy": "https://...", "location": None}

with ``signal`` one of ``tdm-reservation``, ``robots.txt``, ``x-robots-tag``, ``meta-robots``;
``source`` one of ``well-known``, ``http-header``, ``html-meta``, ``robots.txt``; ``agent`` the
matched user agent (robots signals); ``location`` the matched tdmrep.json pattern.

Only web documents are checked: records with HTTP headers (WARC/ARC responses) or
``content_type == "html"``; JSON Lines, Parquet, CSV and text records pass untouched even when they
carry a ``url``. The ``<meta>`` tags are only in the raw page, so this stage runs before
``extract`` (the config enforces it).

No network at run time: the per-site policies are files prepared offline, ``<host>.json``
(tdmrep.json) in ``tdmrep_dir`` and ``<host>.txt`` (robots.txt) in ``robots_dir`` (local folders or
any fsspec URL), ``<host>`` being the URL's lower-cased host name without port. A missing file
means no reservation from that signal; a file that cannot be parsed counts as missing.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlsplit

import fsspec
from datatrove.data import Document
from protego import Protego
from trafilatura.utils import decode_file

from pipelines.stages.base import CurationStage
from schemas.config import OPTOUT_AGENTS
from schemas.document import CONTENT_TYPE, EVIDENCE, URL

OPTOUT_EVIDENCE = EVIDENCE  # the ledger's `evidence` column
HTTP_HEADERS = "http_headers"

DEFAULT_X_ROBOTS_DIRECTIVES = ("noai", "noimageai")
META_SCAN_CHARS = 2**20  # <meta> tags are looked for before </head>, within this prefix
_CACHE_MAX = 65_536  # per-host policy files kept parsed; the cache is emptied when it grows past this

_META = re.compile(r"<meta\b[^>]*>", re.I)
_ATTR = re.compile(r"""([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""")
_HEAD_END = re.compile(r"</head\s*>|<body\b", re.I)
# X-Robots-Tag directives that take a value after a colon, so that "max-snippet: 20" is not read
# as a user agent called max-snippet.
_VALUED_DIRECTIVES = {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"}
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def reservation_value(raw: Any) -> str | None:
    """``"1"`` or ``"0"`` for a valid ``tdm-reservation`` value, None for unset or a protocol error."""
    if isinstance(raw, bool):
        return None
    value = str(raw).strip() if isinstance(raw, int | str) else ""
    return value if value in ("0", "1") else None


def meta_tags(html: str) -> dict[str, str]:
    """``{name (lower-cased): content}`` of the page's ``<meta name=... content=...>`` tags in its head.

    The first tag of a name wins; tags are looked for before ``</head>`` (or ``<body>``), within
    :data:`META_SCAN_CHARS`.
    """
    head = html[:META_SCAN_CHARS]
    end = _HEAD_END.search(head)
    if end:
        head = head[: end.start()]
    found: dict[str, str] = {}
    for tag in _META.findall(head):
        attrs = {name.lower(): dq or sq or bare for name, dq, sq, bare in _ATTR.findall(tag)}
        name = attrs.get("name", "").strip().lower()
        if name and "content" in attrs:
            found.setdefault(name, attrs["content"].strip())
    return found


def _decode_unreserved(path: str) -> str:
    """Percent-decode the characters RFC 3986 calls unreserved (TDMRep: before patterns are compared)."""

    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else match.group(0)

    return _PERCENT.sub(decode, path)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A robots.txt-style path pattern (``*`` any characters, trailing ``$`` end) as an anchored regex."""
    anchored = pattern.endswith("$")
    body = _decode_unreserved(pattern[:-1] if anchored else pattern)
    regex = ".*".join(re.escape(part) for part in body.split("*"))
    return re.compile(regex + ("$" if anchored else ""))


def _url_path(url: str) -> str:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _decode_unreserved(path)


class TdmRepFile:
    """The rules of one origin's ``/.well-known/tdmrep.json``; the first matching rule wins."""

    def __init__(self, rules: list[dict[str, Any]]):
        self.rules = [
            (str(rule["location"]), _pattern_regex(str(rule["location"])), rule)
            for rule in rules
            if isinstance(rule, dict) and isinstance(rule.get("location"), str) and rule["location"]
        ]

    @classmethod
    def parse(cls, text: str) -> TdmRepFile | None:
        """None when the text is not a JSON array (a protocol error: the file counts as absent)."""
        try:
            rules = json.loads(text)
        except ValueError:
            return None
        return cls(rules) if isinstance(rules, list) else None

    def match(self, url: str) -> tuple[str, str | None, str | None] | None:
        """``(location, reservation, policy)`` of the first rule matching the URL's path, or None."""
        path = _url_path(url)
        for location, regex, rule in self.rules:
            if regex.match(path):
                policy = rule.get("tdm-policy")
                return location, reservation_value(rule.get("tdm-reservation")), policy or None
        return None


def robots_directives(value: str, agents: list[str]) -> list[tuple[str, str | None]]:
    """``(directive, agent)`` pairs of an ``X-Robots-Tag`` / meta robots value that apply to us.

    Unscoped directives apply to every crawler (agent None); ``agent: directive, ...`` scopes the
    directives that follow to ``agent``, and only scopes naming a configured agent are kept.
    """
    wanted = {a.lower(): a for a in agents}
    scope: str | None = None
    out: list[tuple[str, str | None]] = []
    for part in value.split(","):
        part = part.strip()
        head, colon, rest = part.partition(":")
        if colon and head.strip().lower() not in _VALUED_DIRECTIVES and " " not in head.strip():
            scope, part = head.strip(), rest.strip()
        if not part:
            continue
        if scope is None:
            out.append((part.lower(), None))
        elif scope.lower() in wanted:
            out.append((part.lower(), wanted[scope.lower()]))
    return out


class OptOutChecker(CurationStage):
    """Filter web documents whose rights holder reserved them from TDM (see the module docstring)."""

    name = "optout"

    def __init__(
        self,
        agents: list[str] | tuple[str, ...] = OPTOUT_AGENTS,
        robots_dir: str | None = None,
        tdmrep_dir: str | None = None,
        x_robots_directives: list[str] | tuple[str, ...] = DEFAULT_X_ROBOTS_DIRECTIVES,
    ):
        super().__init__()
        if not agents:
            raise ValueError("agents must name at least one user agent")
        self.agents = list(agents)
        self.robots_dir = robots_dir.rstrip("/") if robots_dir else None
        self.tdmrep_dir = tdmrep_dir.rstrip("/") if tdmrep_dir else None
        self.directives = {d.lower() for d in x_robots_directives}
        self._robots: dict[str, Protego | None] = {}
        self._tdmrep: dict[str, TdmRepFile | None] = {}

    # ------------------------------------------------------------ policy files

    @staticmethod
    def _read(folder: str, name: str) -> str | None:
        try:
            with fsspec.open(f"{folder}/{name}", "rb") as f:
                return decode_file(f.read())
        except (FileNotFoundError, IsADirectoryError, PermissionError):
            return None

    def _cached(self, cache: dict[str, Any], host: str, load: Any) -> Any:
        if host not in cache:
            if len(cache) >= _CACHE_MAX:
                cache.clear()
            cache[host] = load(host)
        return cache[host]

    def _load_robots(self, host: str) -> Protego | None:
        text = self._read(self.robots_dir, f"{host}.txt") if self.robots_dir else None
        return Protego.parse(text) if text is not None else None

    def _load_tdmrep(self, host: str) -> TdmRepFile | None:
        text = self._read(self.tdmrep_dir, f"{host}.json") if self.tdmrep_dir else None
        return TdmRepFile.parse(text) if text is not None else None

    # ------------------------------------------------------------ signals

    def tdmrep(self, url: str | None, headers: dict[str, str], meta: dict[str, str]) -> dict[str, Any] | None:
        """The effective TDMRep declaration ``{value, source, policy, location}``, or None when unset."""
        declared: dict[str, Any] | None = None
        host = urlsplit(url).hostname if url else None
        if host and self.tdmrep_dir:
            rules = self._cached(self._tdmrep, host.lower(), self._load_tdmrep)
            matched = rules.match(url) if rules else None
            if matched and matched[1] is not None:
                location, value, policy = matched
                declared = {"value": value, "source": "well-known", "policy": policy, "location": location}
        for source, fields in (("http-header", headers), ("html-meta", meta)):
            value = reservation_value(fields.get("tdm-reservation", ""))
            if value is not None:
                policy = fields.get("tdm-policy") or None
                declared = {"value": value, "source": source, "policy": policy, "location": None}
        return declared

    def robots_disallowing_agent(self, url: str | None) -> str | None:
        """The first configured agent that the site's robots.txt disallows for this URL, or None."""
        host = urlsplit(url).hostname if url else None
        if not (host and self.robots_dir):
            return None
        robots = self._cached(self._robots, host.lower(), self._load_robots)
        if robots is None:
            return None
        return next((agent for agent in self.agents if not robots.can_fetch(url, agent)), None)

    # ------------------------------------------------------------ the stage

    def process(self, doc: Document) -> None:
        headers = doc.metadata.get(HTTP_HEADERS) or {}
        is_html = doc.metadata.get(CONTENT_TYPE) == "html"
        if not (headers or is_html):
            return
        headers = {str(k).lower(): str(v) for k, v in headers.items()}
        url = doc.metadata.get(URL) or None
        meta: dict[str, str] = {}
        if is_html:
            html = doc.text if isinstance(doc.text, str) else decode_file(doc.text)
            meta = meta_tags(html)

        declared = self.tdmrep(url, headers, meta)
        if declared and declared["value"] == "1":
            self._reserve(doc, "tdmrep", signal="tdm-reservation", agent=None, **declared)
            return
        agent = self.robots_disallowing_agent(url)
        if agent:
            self._reserve(
                doc, "robots", signal="robots.txt", value="disallow", source="robots.txt", agent=agent
            )
            return
        for signal, source, value in (
            ("x-robots-tag", "http-header", headers.get("x-robots-tag", "")),
            ("meta-robots", "html-meta", meta.get("robots", "")),
        ):
            for directive, scope in robots_directives(value, self.agents):
                if directive in self.directives:
                    self._reserve(doc, "robots", signal=signal, value=directive, source=source, agent=scope)
                    return

    def _reserve(
        self,
        doc: Document,
        rule: str,
        *,
        signal: str,
        value: str,
        source: str,
        agent: str | None,
        policy: str | None = None,
        location: str | None = None,
    ) -> None:
        doc.metadata[OPTOUT_EVIDENCE] = {
            "signal": signal,
            "value": value,
            "source": source,
            "agent": agent,
            "policy": policy,
            "location": location,
        }
        self.filter(doc, rule)
