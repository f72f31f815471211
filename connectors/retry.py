"""Bounded retries with exponential backoff for remote stores (S3 throttling, HTTP 429/5xx, dropped links).

Only transient failures are retried: ``SlowDown`` / ``503`` from S3, HTTP ``429`` and ``5xx``,
refused or reset connections, timeouts and answers cut short. A missing object (404) or a
denied one (403) fails at once. The policy comes from a source's ``retries`` setting; state
stays in the call. Which layer applies the policy to a given store (the store's own client, or
:func:`with_retries`) is decided in :mod:`connectors.stores`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

TRANSIENT_HTTP = frozenset({408, 425, 429, 500, 502, 503, 504})
TRANSIENT_S3_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalError",
        "RequestTimeout",
        "503",
        "500",
    }
)
# A body that ended before its Content-Length (aiohttp, urllib3 / http.client, botocore, aiobotocore).
_CUT_SHORT_CLASS_NAMES = frozenset(
    {
        "ClientPayloadError",
        "IncompleteRead",
        "IncompleteReadError",
        "ResponseStreamingError",
        "AioReadTimeoutError",
    }
)
_TRANSIENT_CLASS_NAMES = _CUT_SHORT_CLASS_NAMES | frozenset(
    {
        "ClientConnectionError",  # aiohttp: refused, reset, disconnected
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "ConnectionError",  # botocore's (refused, connect timeouts, TLS), not only the builtin
        "HTTPClientError",  # botocore: closed before an answer, read timeouts
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first one included
    initial_delay_s: float = 0.5
    max_delay_s: float = 30.0

    def pause(self, retry: int) -> float:
        """The pause before retry number ``retry`` (0 for the first): doubling from ``initial_delay_s``,
        capped at ``max_delay_s``, with jitter (a random half of it at most taken off)."""
        return min(self.max_delay_s, self.initial_delay_s * 2**retry) * random.uniform(0.5, 1.0)

    def delays(self) -> Iterator[float]:
        """The pause before each retry, ``attempts - 1`` of them."""
        for retry in range(self.attempts - 1):
            yield self.pause(retry)


class StoreUnreachable(RuntimeError):
    """A store that kept failing transiently for as many tries as the policy allows."""

    def __init__(self, url: str, attempts: int, last: BaseException):
        super().__init__(f"{url} unreachable after {attempts} attempts: {one_line(last)}")


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        yield node
        node = node.__cause__ or node.__context__


def _status(exc: BaseException) -> int | None:
    for attr in ("status", "status_code", "code"):
        value = getattr(exc, attr, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        value = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if isinstance(value, int):
            return value
    return None


def _error_code(exc: BaseException) -> str | None:
    response: Any = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def is_transient_answer(status: int | None, code: str | None) -> bool:
    """Whether a store's answer (HTTP status, S3 error code) says to try again later."""
    return status in TRANSIENT_HTTP or code in TRANSIENT_S3_CODES


def is_cut_short(exc: BaseException) -> bool:
    """A body that ended early (a connection dropped mid-answer), as raised while reading a stream."""
    return any(cls.__name__ in _CUT_SHORT_CLASS_NAMES for cls in type(exc).__mro__)


def is_transient(exc: BaseException) -> bool:
    """Throttling, a server error or a connection problem anywhere in the exception's chain."""
    for node in _causes(exc):
        if isinstance(node, StoreUnreachable):
            return False  # the tries are spent already
        status = _status(node)
        if status is not None:
            return status in TRANSIENT_HTTP
        if _error_code(node) in TRANSIENT_S3_CODES:
            return True
        if isinstance(node, ConnectionError | TimeoutError):
            return True
        if any(cls.__name__ in _TRANSIENT_CLASS_NAMES for cls in type(node).__mro__):
            return True
    return False


def with_retries(
    call: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep
) -> T:
    """``call()``, retried on transient failures; the last failure is raised when attempts run out."""
    delays = policy.delays()
    while True:
        try:
            return call()
        except Exception as exc:
            if not is_transient(exc):
                raise
            delay = next(delays, None)
            if delay is None:
                raise
            sleep(delay)


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one short line for an operator: ``Type: message``."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not text.startswith(type(exc).__name__):
        text = f"{type(exc).__name__}: {text}"
    return text[:limit]
