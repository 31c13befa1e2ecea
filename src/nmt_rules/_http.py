"""uvicorn's HTTP protocol with two guards it lacks: a deadline and a size limit for the head.

uvicorn arms no timer before a request's head is complete, so a client that connects and
sends nothing, or sends its headers a byte at a time, holds a connection (and a slot under
``limit_concurrency``) for ever; and httptools accepts heads of any size. Here a client gets
``header_timeout_s`` to send the request line and headers (408 and close otherwise) and at
most ``max_header_bytes`` (431 and close). Bodies are bounded by the application (size and
time), idle keep-alive connections by uvicorn's own keep-alive timeout.
"""

from __future__ import annotations

import asyncio

import attrs
import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@attrs.frozen
class HeadLimits:
    """How long and how large a request's head may be."""

    timeout_s: float = 10.0
    max_bytes: int = 64 * 1024


#: Set by the application factory in each worker before it serves (uvicorn builds protocols
#: itself, from the class alone).
limits = HeadLimits()


def configure(new: HeadLimits) -> None:
    """Use these limits for connections made from now on in this process."""
    global limits
    limits = new


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with a deadline and a size limit for each request's head."""

    _head_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0
    _reading_head = True
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._limits = limits
        self._start_timer()

    def _start_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self._limits.timeout_s, self._head_too_slow)

    def _stop_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._reading_head:  # bytes of the next request on a kept-alive connection
            self._start_timer()
        super().data_received(data)

    # The parser hands over the head piece by piece; counting those pieces (not the bytes
    # received, which may hold body too) measures the head alone.
    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._count(len(url) + 16)  # method, version, spaces, line end
        if not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        if not self._refused:
            super().on_header(name, value)

    def _count(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self._limits.max_bytes and not self._refused:
            self._refuse(431, "Request Header Fields Too Large", "the request head is too large")

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._stop_timer()
        self._reading_head = False
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self._refused:
            return
        super().on_message_complete()
        # Whatever comes next is the next request's head. uvicorn's keep-alive timer covers
        # the wait for its first byte; data_received starts this deadline when it comes.
        self._reading_head = True

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_timer()
        super().connection_lost(exc)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._reading_head:
            self._refuse(408, "Request Timeout", "the request head was not sent in time")

    def _refuse(self, status: int, reason: str, message: str) -> None:
        """Answer and close; the parser may still call back for the rest of what it holds,
        and those calls are ignored."""
        self._refused = True
        self._stop_timer()
        if self.transport.is_closing():
            return
        body = orjson.dumps({"errors": [{"path": "", "message": message}]})
        head = (
            f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)
        self.transport.close()
