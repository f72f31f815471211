"""A remote file whose reads pick up where they stopped when a connection drops mid-answer.

A store's client retries a request whose answer never came, but not a body that ends early: the
answer was handed over already. :class:`ResumableInput` catches such a read, waits as the retry
policy says, and reads again from the byte where the last good read ended, on the same open file
(fsspec's remote files fetch byte ranges from their position, and s3fs keeps checking that the
object is still the one opened), or on a file opened afresh when the first one cannot seek. One
read is tried at most ``policy.attempts`` times; then :class:`StoreUnreachable` names the URL,
the attempts and the last error.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from typing import IO, Any

from connectors.retry import RetryPolicy, StoreUnreachable, is_transient


class ResumableInput(io.RawIOBase):
    """``open_at(offset)`` gives the file positioned at ``offset``; ``retryable(exc)`` says which read
    failures to try again (the others, when transient, mean the store's client spent the tries)."""

    def __init__(
        self,
        url: str,
        open_at: Callable[[int], IO[bytes]],
        policy: RetryPolicy,
        retryable: Callable[[BaseException], bool],
        sleep: Callable[[float], None] = time.sleep,
    ):
        super().__init__()
        self.url = url
        self._open_at = open_at
        self._policy = policy
        self._retryable = retryable
        self._sleep = sleep
        self._file: IO[bytes] | None = open_at(0)
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._current().seekable()

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._position = self._current().seek(offset, whence)
        return self._position

    def readinto(self, buffer: Any) -> int:
        delays = self._policy.delays()
        while True:
            try:
                data = self._current().read(len(buffer))
            except Exception as exc:
                delay = next(delays, None) if self._retryable(exc) else None
                if delay is None:
                    if is_transient(exc):
                        raise StoreUnreachable(self.url, self._policy.attempts, exc) from None
                    raise
                self._sleep(delay)
                self._resume()
                continue
            buffer[: len(data)] = data
            self._position += len(data)
            return len(data)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        super().close()

    def _current(self) -> IO[bytes]:
        if self.closed:
            raise ValueError(f"I/O operation on closed file {self.url}")
        if self._file is None:
            self._file = self._open_at(self._position)
        return self._file

    def _resume(self) -> None:
        """Back to the last good byte: the same file when it can seek, else a new one (opened lazily)."""
        if self._file is not None and self._file.seekable():
            self._file.seek(self._position)
            return
        if self._file is not None:
            with contextlib.suppress(Exception):  # the connection is gone; the new file does not need it
                self._file.close()
            self._file = None
