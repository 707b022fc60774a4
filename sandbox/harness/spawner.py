"""The spawner: forks warm student processes for the harness.

The harness forks this process first thing, *before* it reads the job, so the
spawner never holds a test, an expected value or the result channel. For each
request (a uid and a working folder, nothing else) it forks a child that drops
to that uid and runs ``student_boot.run`` in the already-initialised
interpreter; the harness then writes the test's init frame into the child's
pipe itself. Forking a warm interpreter costs a few milliseconds instead of the
~25 ms of starting Python, per test.

Protocol on the socketpair (harness <-> spawner), one request at a time:
  harness -> spawner: frame {"uid": int, "cwd": str, "env": {...}}
  spawner -> harness: frame {"pid": int} with five fds attached (SCM_RIGHTS):
                      the child's stdin (write end), stdout, stderr, requests (write), answers (read)
                      or frame {"error": str} when no process could be forked (pids used up)
  spawner -> harness: frame {"status": waitpid status} when the child has exited
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
import traceback

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, NoReturn

    from . import student_boot
    from .wire import SpawnRequest
else:
    import student_boot

HEADER = struct.Struct(">I")
MIN_UID = 1000


def send(sock: socket.socket, message: object, fds: Iterable[int] = ()) -> None:
    body = json.dumps(message).encode()
    socket.send_fds(sock, [HEADER.pack(len(body)) + body], list(fds))


def recv(sock: socket.socket) -> tuple[Any, list[int]]:
    """One frame and the fds that came with it; (None, []) at EOF."""
    data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
    if not data:
        return None, fds
    (size,) = HEADER.unpack(data[: HEADER.size])
    body = data[HEADER.size :]
    while len(body) < size:
        more = sock.recv(size - len(body))
        if not more:
            return None, fds
        body += more
    return json.loads(body), fds


def start() -> tuple[socket.socket, int]:
    """Fork the spawner; return the harness's end of the socket and the spawner's pid."""
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid == 0:
        parent_end.close()
        try:
            _detach_from_channels()
            serve(child_end)
        finally:
            os._exit(0)
    child_end.close()
    return parent_end, pid


def _detach_from_channels() -> None:
    """Drop the container's stdin (the job) and stdout (the result channel)."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def serve(sock: socket.socket) -> None:
    while True:
        request: SpawnRequest | None
        request, _ = recv(sock)
        if request is None:
            return
        uid = int(request["uid"])
        if uid < MIN_UID:
            raise SystemExit("refusing to spawn a privileged uid")
        ends = [os.pipe() for _ in range(5)]  # stdin, stdout, stderr, requests, answers
        pid = _fork()
        if pid is None:  # the student's processes hold every pid the container has
            for r, w in ends:
                os.close(r)
                os.close(w)
            send(sock, {"error": "fork failed: the process limit is used up"})
            continue
        if pid == 0:
            sock.close()
            _child(uid, request, ends)
        mine = [ends[0][1], ends[1][0], ends[2][0], ends[3][1], ends[4][0]]
        for r, w in ends:
            for fd in (r, w):
                if fd not in mine:
                    os.close(fd)
        send(sock, {"pid": pid}, mine)
        for fd in mine:
            os.close(fd)
        _, status = os.waitpid(pid, 0)
        send(sock, {"status": status})


def _fork(tries: int = 50) -> int | None:
    """fork(), waiting a little while pids are scarce (the dying are being reaped)."""
    for _ in range(tries):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.01)
    return None


def _child(uid: int, request: SpawnRequest, ends: list[tuple[int, int]]) -> NoReturn:
    """In the forked child: become the student, keep only its own pipes, run the bootstrap."""
    try:
        os.dup2(ends[0][0], 0)
        os.dup2(ends[1][1], 1)
        os.dup2(ends[2][1], 2)
        os.dup2(ends[3][0], 3)
        os.dup2(ends[4][1], 4)
        os.closerange(5, 65536)
        os.setsid()
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from uid 0 to another: every capability is gone
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.stdin = open(0, encoding="utf-8", errors="replace", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False)
    except BaseException:  # noqa: BLE001 - never let a half-set-up child run student code
        os._exit(120)
    try:
        student_boot.run(3, 4)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    os._exit(0)
