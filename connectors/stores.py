"""Reaching a store: its fsspec filesystem, with exactly one retry layer, set up from a source's ``retries``.

Every place that lists or opens a source's files gets its filesystem from :func:`filesystem`,
calls it through :func:`retried` and reads through :func:`open_input`. Which layer retries is
a property of the store, looked up in :data:`RETRY_LAYERS` by protocol:

- ``s3`` / ``s3a``: the client retries. botocore's request loop asks our
  :class:`BotocoreRetryHook` (its ``needs-retry`` event) whether and when to send a request
  again, so every request (a listing page, a ``HEAD``, a ranged ``GET``) is tried at most
  ``attempts`` times with the policy's pauses; botocore's built-in retry mode is held to one try
  and s3fs's own loop around each call to one pass, so nothing multiplies the tries. Only a body
  cut short after its answer arrived is left to :class:`~connectors.resumable.ResumableInput`.
- local files: nothing to retry.
- everything else (``http(s)``, ...): the client does not retry (fsspec's HTTP filesystem does
  not), so :func:`~connectors.retry.with_retries` wraps each call and reads resume on any
  transient failure. ``hf://`` takes this layer too, although huggingface_hub retries many of its
  own requests with a fixed bound that cannot be configured from here.

aiohttp (under both s3fs and fsspec's HTTP filesystem) re-sends an idempotent request once, at
once, when its connection drops before an answer (HTTP/1.1 allows it); that is part of one try.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from fsspec import AbstractFileSystem
from fsspec.core import url_to_fs
from fsspec.utils import get_protocol

from connectors.resumable import ResumableInput
from connectors.retry import RetryPolicy, is_cut_short, is_transient, is_transient_answer, with_retries

T = TypeVar("T")

READ_BUFFER = 1 << 16  # what one read asks of the store's file at least (fsspec files read ahead further)


class BotocoreRetryHook:
    """botocore's ``needs-retry`` handler: the pause before trying a request again, or ``None``.

    botocore calls it after every try with the answer (``response``: the HTTP response and its
    parsed body) or the exception that stood for one; ``attempts`` counts the tries so far.
    """

    def __init__(self, policy: RetryPolicy):
        self.policy = policy

    def __call__(
        self,
        attempts: int,
        response: tuple[Any, dict[str, Any]] | None = None,
        caught_exception: BaseException | None = None,
        **_: Any,
    ) -> float | None:
        if attempts >= self.policy.attempts:
            return None
        if caught_exception is not None:
            transient = is_transient(caught_exception)
        elif response is not None:
            http, parsed = response
            error = parsed.get("Error") if isinstance(parsed, dict) else None
            code = error.get("Code") if isinstance(error, dict) else None
            transient = is_transient_answer(getattr(http, "status_code", None), code)
        else:
            transient = False
        return self.policy.pause(attempts - 1) if transient else None


@functools.cache
def _service_models() -> Any:
    """botocore's loader of service descriptions: read-only, so one per process serves every session."""
    from botocore.loaders import create_loader

    return create_loader()


def s3_session(policy: RetryPolicy, profile: str | None) -> Any:
    """A fresh aiobotocore session whose clients retry by ``policy``.

    Fresh for every filesystem (which is not cached either): a session keeps the credentials it
    found in the environment, and a long-lived process must see rotated ones.
    """
    from aiobotocore.session import AioSession

    session = AioSession(profile=profile)
    session.register_component("data_loader", _service_models())
    session.register("needs-retry.s3", BotocoreRetryHook(policy))
    return session


def _s3_options(policy: RetryPolicy, options: dict[str, Any]) -> dict[str, Any]:
    own = {key: value for key, value in options.items() if key != "profile"}
    config = {**options.get("config_kwargs", {}), "retries": {"mode": "standard", "total_max_attempts": 1}}
    return {
        **own,
        "session": s3_session(policy, options.get("profile")),
        "config_kwargs": config,
        "skip_instance_cache": True,
    }


def _s3_one_pass(fs: AbstractFileSystem) -> None:
    fs.retries = 1  # type: ignore[attr-defined]  # s3fs's loop around each call: one pass, no repeat


def _unchanged(policy: RetryPolicy, options: dict[str, Any]) -> dict[str, Any]:
    return options


def _nothing(fs: AbstractFileSystem) -> None:
    return None


@dataclass(frozen=True)
class RetryLayer:
    """Where one kind of store is retried.

    ``configure`` turns a policy and the source's storage options into the filesystem's options;
    ``prepare`` finishes the filesystem once made; ``wrap_calls`` says calls go through
    :func:`with_retries` (else they are made once: the client retries, or nothing needs to);
    ``resume`` says which read failures a reader picks up from (``None``: reads are not wrapped).
    """

    configure: Callable[[RetryPolicy, dict[str, Any]], dict[str, Any]]
    prepare: Callable[[AbstractFileSystem], None]
    wrap_calls: bool
    resume: Callable[[BaseException], bool] | None


S3_CLIENT_RETRIES = RetryLayer(_s3_options, _s3_one_pass, wrap_calls=False, resume=is_cut_short)
NO_RETRIES = RetryLayer(_unchanged, _nothing, wrap_calls=False, resume=None)
OUR_RETRIES = RetryLayer(_unchanged, _nothing, wrap_calls=True, resume=is_transient)

RETRY_LAYERS: dict[str, RetryLayer] = {
    "s3": S3_CLIENT_RETRIES,
    "s3a": S3_CLIENT_RETRIES,
    "file": NO_RETRIES,
    "local": NO_RETRIES,
    "memory": NO_RETRIES,
}


def _layer(protocol: str | tuple[str, ...]) -> RetryLayer:
    name = protocol if isinstance(protocol, str) else protocol[0]
    return RETRY_LAYERS.get(name, OUR_RETRIES)


def filesystem(
    url: str, storage_options: dict[str, Any], policy: RetryPolicy
) -> tuple[AbstractFileSystem, str]:
    """The filesystem behind ``url`` and the path in it, its retry layer set up from ``policy``."""
    layer = _layer(get_protocol(url))
    fs, path = url_to_fs(url, **layer.configure(policy, dict(storage_options)))
    layer.prepare(fs)
    return fs, path


def retried(fs: AbstractFileSystem, call: Callable[[], T], policy: RetryPolicy) -> T:
    """``call()`` on ``fs`` once where the store's client retries, else under :func:`with_retries`."""
    if _layer(fs.protocol).wrap_calls:
        return with_retries(call, policy)
    return call()


def open_input(
    fs: AbstractFileSystem, path: str, policy: RetryPolicy, url: str, block_size: int | None = None
) -> IO[bytes]:
    """``path`` opened for reading (opening retried like any call), its reads resumed after a drop."""
    options = {} if block_size is None else {"block_size": block_size}

    def open_at(offset: int) -> IO[bytes]:
        file = fs.open(path, "rb", **options)
        if offset:
            file.seek(offset)
        return file

    resume = _layer(fs.protocol).resume
    if resume is None:
        return retried(fs, lambda: open_at(0), policy)
    raw = retried(fs, lambda: ResumableInput(url, open_at, policy, resume), policy)
    return io.BufferedReader(raw, READ_BUFFER)
