"""Length-prefixed JSON frames on a pipe, shared by the harness and the student bootstrap.

Stdlib only: this file is copied into the sandbox image.
"""

from __future__ import annotations

import json
import os
import struct

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    from typing import Any

HEADER = struct.Struct(">I")
MAX_FRAME = 8 * 1024 * 1024


class FrameError(Exception):
    """The peer sent something that is not a well-formed frame."""


def pack(message: object) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    if len(body) > MAX_FRAME:
        raise FrameError("message too large (%d bytes)" % len(body))
    return HEADER.pack(len(body)) + body


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_frame(fd: int, message: object) -> None:
    write_all(fd, pack(message))


def read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, min(size, 1 << 16))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """Blocking read of one frame (used by the student side, whose frames come from the harness)."""
    (size,) = HEADER.unpack(read_exactly(fd, HEADER.size))
    if size > MAX_FRAME:
        raise FrameError("frame too large")
    return json.loads(read_exactly(fd, size))


class FrameBuffer:
    """Incremental decoder for the harness, which reads with select() and never blocks."""

    def __init__(self) -> None:
        self.data = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > MAX_FRAME + HEADER.size:
            raise FrameError("frame too large")

    def pop(self) -> object:
        """The next whole frame, decoded (untrusted: any JSON value), or None while none is whole."""
        if len(self.data) < HEADER.size:
            return None
        (size,) = HEADER.unpack(self.data[: HEADER.size])
        if size > MAX_FRAME:
            raise FrameError("frame too large")
        end = HEADER.size + size
        if len(self.data) < end:
            return None
        body = bytes(self.data[HEADER.size : end])
        del self.data[:end]
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            raise FrameError("malformed frame: %s" % type(exc).__name__) from None
