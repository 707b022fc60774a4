"""The trusted test harness: PID 1 of every sandbox container.

It reads the job (files, tests, expected values, limits) from stdin, runs every
test in a fresh child process as an unprivileged, per-run user, compares the
answers itself and writes one result line on a file descriptor that no student
process holds. Expected values and other tests never enter a student process;
see sandbox/README.md for the threat model. Stdlib only (copied into the image).
"""

from __future__ import annotations

import builtins
import ctypes
import errno
import json
import math
import os
import selectors
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    import socket
    from collections.abc import Callable, Iterable, Mapping
    from types import FrameType
    from typing import NoReturn

    import pytest
    from _typeshed import FileDescriptorLike

    from . import plaindata, protocol, spawner, verdict
    from .verdict import report
    from .wire import (
        CallRequest,
        Case,
        Init,
        Job,
        Mode,
        Paths,
        Report,
        RunningTest,
        SpawnReply,
        Streams,
        StudentLimits,
        Test,
    )
else:
    import plaindata
    import protocol
    import spawner
    import verdict
    from verdict import report

# Where things live in the container. The bare-subprocess benchmark passes its own
# ("paths" in the job) so that a run on a host never touches the host's /tmp.
PATHS: Paths = {"private": "/run/harness", "scratch": ["/tmp", "/dev/shm"], "workdir": "/tmp/work"}
RESULT_MARKER = "GRADER-RESULT"
MAX_JOB_BYTES = 32 * 1024 * 1024
STUDENT_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}


class StudentTimeout(Exception):
    pass


class StudentGone(Exception):
    pass


class CannotStart(Exception):
    """The student's process could not be forked (the process limit is used up)."""


class Capture:
    """Keeps the first ``cap`` bytes of a stream and counts the rest (never blocks the writer)."""

    def __init__(self, cap: int) -> None:
        self.cap, self.data, self.total = cap, bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)


class OutputBudget:
    """What all tests of one job may keep of their output together. Each test keeps up to its
    allowance while the budget lasts, then a little; so 500 tests printing their full allowance
    cannot grow the harness (and the result line) past its memory."""

    def __init__(self, total: int = 4 * 1024 * 1024, floor: int = 1024) -> None:
        self.left, self.floor = total, floor

    def cap(self, allowance: int) -> int:
        return max(self.floor, min(allowance, self.left // 2))

    def spend(self, student: StudentProcess) -> None:
        self.left -= len(student.stdout.data) + len(student.stderr.data)


OUTPUT = OutputBudget()


class StudentProcess:
    """One student process (one test), driven through pipes with select() and a deadline.

    The spawner forks it as ``uid``, a user of its own for this test.
    """

    def __init__(self, job: Job, init: Init, uid: int, stdin_bytes: bytes = b"") -> None:
        self.uid = uid
        cap = OUTPUT.cap(job["limits"]["output_bytes"])
        self.stdout, self.stderr = Capture(cap), Capture(cap)
        self.frames = protocol.FrameBuffer()
        self.returncode: int | None = None
        env = dict(STUDENT_ENV, HOME=PATHS["workdir"])
        spawner.send(SPAWNER, {"uid": uid, "cwd": PATHS["scratch"][0], "env": env})
        reply: SpawnReply | None
        reply, fds = spawner.recv(SPAWNER)
        if reply is None:
            raise RuntimeError("the spawner died")
        if reply.get("error"):
            # Only the student's processes use up the container's pids; the previous test's
            # are all gone (kill_all waits for that), so this test's program caused it.
            raise CannotStart(reply["error"])
        if len(fds) != 5:
            raise RuntimeError("the spawner did not start the student process")
        self.pid = reply["pid"]
        stdin_w, stdout_r, stderr_r, self.req_w, self.ans_r = fds
        self.outgoing: dict[int, bytearray] = {self.req_w: bytearray(protocol.pack(init))}
        if stdin_bytes:
            self.outgoing[stdin_w] = bytearray(stdin_bytes)
        else:
            os.close(stdin_w)  # the program reads EOF at once
        self.readers: dict[int, Callable[[bytes], None]] = {
            stdout_r: self.stdout.add,
            stderr_r: self.stderr.add,
            self.ans_r: self.frames.feed,
        }
        for fd in list(self.outgoing) + list(self.readers):
            os.set_blocking(fd, False)
        self.exited = False
        self.keep_requests_open = init["mode"] == "serve"

    # -- the pump -------------------------------------------------------------------------
    def _pump(self, deadline: float, want_frame: bool) -> object:
        """Move bytes until a frame arrives (if wanted), the child exits, or the deadline."""
        with selectors.DefaultSelector() as sel:
            for fd in self.readers:
                sel.register(fd, selectors.EVENT_READ)
            for fd, buf in self.outgoing.items():
                if buf:
                    sel.register(fd, selectors.EVENT_WRITE)
            if not self.exited:
                sel.register(SPAWNER, selectors.EVENT_READ)  # it reports the child's exit
            while True:
                if want_frame:
                    frame = self.frames.pop()
                    if frame is not None:
                        return frame
                if self.exited and not self.readers:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise StudentTimeout()
                for key, _ in sel.select(remaining):
                    self._service(sel, key.fileobj)

    def _service(self, sel: selectors.BaseSelector, fd: FileDescriptorLike) -> None:
        if fd is SPAWNER:
            sel.unregister(fd)
            self._collect_exit()
            kill_uid(self.uid)  # grandchildren may hold the pipes open
            return
        assert isinstance(fd, int)  # all else registered is a pipe's fd
        if fd in self.outgoing:
            buf = self.outgoing[fd]
            try:
                del buf[: os.write(fd, buf)]
            except BrokenPipeError:
                buf.clear()
            if not buf:
                sel.unregister(fd)
                if fd != self.req_w or not self.keep_requests_open:
                    self._close_out(fd)
            return
        try:
            chunk = os.read(fd, 1 << 16)
        except BlockingIOError:
            return
        if chunk:
            self.readers[fd](chunk)
        else:
            sel.unregister(fd)
            del self.readers[fd]
            os.close(fd)

    def _collect_exit(self) -> None:
        message: SpawnReply | None
        message, _ = spawner.recv(SPAWNER)
        if message is None:
            raise RuntimeError("the spawner died")
        self.returncode = os.waitstatus_to_exitcode(message["status"])
        self.exited = True

    def _close_out(self, fd: int) -> None:
        self.outgoing.pop(fd, None)
        try:
            os.close(fd)
        except OSError:
            pass

    # -- public -----------------------------------------------------------------------------
    def answer(self, deadline: float) -> object:
        return self._pump(deadline, want_frame=True)

    def request(self, message: CallRequest, deadline: float) -> object:
        if self.exited or self.req_w not in self.outgoing:
            raise StudentGone()
        self.outgoing[self.req_w] += protocol.pack(message)
        frame = self._pump(deadline, want_frame=True)
        if frame is None:
            raise StudentGone()
        return frame

    def finish(self, deadline: float) -> int | None:
        """Wait for the child to exit on its own and drain its output."""
        self._pump(deadline, want_frame=False)
        return self.returncode

    def kill_all(self) -> None:
        """SIGKILL every process of this test's user, wait until the last one is gone (zombies
        hold pids too), then delete its files.

        PID 1 kills them itself (it holds CAP_KILL): no fork is needed, so a fork bomb that has
        used up every pid of the container cannot stop the harness from cleaning up.
        """
        kill_uid(self.uid)
        as_user(self.uid, lambda: wipe_own_files(PATHS["scratch"]))

    def close(self) -> None:
        OUTPUT.spend(self)
        self.kill_all()
        if not self.exited:
            self._collect_exit()
        for fd in list(self.outgoing) + list(self.readers):
            try:
                os.close(fd)
            except OSError:
                pass
        self.outgoing, self.readers = {}, {}
        reap_orphans()


def processes_of(uid: int) -> list[int]:
    """The pids of every process (zombies included) whose real uid is ``uid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/status" % entry, "rb") as handle:
                for line in handle:
                    if line.startswith(b"Uid:"):
                        if int(line.split()[1]) == uid:
                            found.append(int(entry))
                        break
        except (OSError, ValueError, IndexError):
            continue  # it exited while we looked
    return found


class StudentWontDie(Exception):
    """A test's processes outlived every attempt to kill them (graded as crashed)."""


def kill_uid(uid: int, patience: float = 30.0) -> None:
    """Kill every process of ``uid`` and reap what comes back to PID 1, until none is left.
    SIGSTOP first: a stopped process cannot fork, so a bomb cannot outgrow the list."""
    give_up = time.monotonic() + patience
    while True:
        pids = processes_of(uid)
        if not pids:
            return
        _signal_all(pids, signal.SIGSTOP)
        _signal_all(processes_of(uid), signal.SIGKILL)  # those forked meanwhile are stopped too
        reap_orphans()
        if time.monotonic() > give_up:
            raise StudentWontDie("processes of a finished test would not go away")
        time.sleep(0.0005)


def clean_up_after(uid: int) -> None:
    try:
        kill_uid(uid)
        as_user(uid, lambda: wipe_own_files(PATHS["scratch"]))
    except StudentWontDie:
        pass


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def as_user(uid: int, work: Callable[[], object]) -> None:
    """Run ``work`` in a child that became ``uid`` (to touch that user's files)."""
    for _ in range(200):
        try:
            pid = os.fork()
            break
        except OSError as exc:  # every pid in use: wait for the dying to be reaped
            if exc.errno != errno.EAGAIN:
                raise
            reap_orphans()
            time.sleep(0.005)
    else:
        raise StudentWontDie("could not fork a helper: the student's processes hold every pid")
    if pid == 0:
        try:
            os.setgid(uid)
            os.setuid(uid)
            work()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)


def wipe_own_files(folders: Iterable[str]) -> None:
    for folder in folders:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            path = os.path.join(folder, entry)
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


def reap_orphans() -> None:
    """As PID 1 we inherit the student's orphans; collect the zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# -- running one test -------------------------------------------------------------------------
def student_limits(job: Job, test: Test) -> StudentLimits:
    limits = job["limits"]
    return {
        "memory_bytes": limits["memory_mb"] * 1024 * 1024,
        "nproc": max(limits["pids"] - 8, 4),
        "cpu_seconds": int(math.ceil(test["time_limit"])) + 1,
        "file_size_bytes": limits["file_size_bytes"],
        "open_files": limits["open_files"],
    }


def base_init(job: Job, test: Test, mode: Mode) -> Init:
    return {
        "mode": mode,
        "files": job["files"],
        "module": job["module"],
        "main": job["main"],
        "setup": job.get("setup_code") or "",
        "setup_scope": job.get("setup_scope") or "test",
        "limits": student_limits(job, test),
        "workdir": PATHS["workdir"],
    }


def run_io(job: Job, test: RunningTest, deadline: float) -> Report:
    spec = test["spec"]
    student = StudentProcess(job, base_init(job, test, "main"), test["uid"], spec.get("stdin", "").encode())
    try:
        try:
            code = student.finish(deadline)
        except StudentTimeout:
            return report(test, "timeout", message="time limit exceeded", **streams(student))
        frame = student.frames.pop()
        return verdict.io_report(test, frame, code, streams(student), verdict.rules_for(job, spec))
    finally:
        student.close()


def streams(student: StudentProcess) -> Streams:
    return {
        "stdout": student.stdout.text(),
        "stderr": student.stderr.text(),
        "stdout_truncated": student.stdout.truncated,
        "stderr_truncated": student.stderr.truncated,
    }


def run_expr(job: Job, test: RunningTest, deadline: float) -> Report:
    spec = test["spec"]
    init = base_init(job, test, "expr")
    init["expr"] = spec["expr"]
    expected = plaindata.parse_literal(spec["expected"])
    student = StudentProcess(job, init, test["uid"])
    try:
        try:
            frame = student.answer(deadline)
        except StudentTimeout:
            return report(test, "timeout", message="time limit exceeded", **streams(student))
        drain(student, deadline)
        return verdict.expr_report(
            test, frame, student.returncode, streams(student), expected, verdict.rules_for(job, spec)
        )
    finally:
        student.close()


def drain(student: StudentProcess, deadline: float) -> None:
    """After the answer, keep what the program still prints until it exits (it does so at once
    unless it tampered with its own exit; the answer already holds the verdict)."""
    try:
        student.finish(deadline)
    except (StudentTimeout, protocol.FrameError):
        pass


# What the student's code can cause while the harness reads its answer: a graded outcome
# ("error"), never a harness failure (which would be "not gradable" and free).
STUDENT_DATA_ERRORS = (
    protocol.FrameError,
    ValueError,
    TypeError,
    KeyError,
    AttributeError,
    IndexError,
    OverflowError,
    RecursionError,
    UnicodeError,
)


class JudgingTooLong(Exception):
    """Checking an answer took longer than JUDGE_SECONDS after the test's deadline (a value
    built to be slow to rebuild or compare, e.g. a set whose members all hash alike)."""


JUDGE_SECONDS = 10.0


def _judging_too_long(signum: int, frame: FrameType | None) -> NoReturn:
    raise JudgingTooLong()


def run_test(job: Job, test: RunningTest, deadline: float) -> Report:
    runner = {"io": run_io, "expr": run_expr, "pytest": run_pytest}[test["kind"]]
    started = time.monotonic()
    # The harness's own work on what the student sent is time-boxed too: one alarm for the
    # whole test, the test's deadline plus JUDGE_SECONDS.
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - started) + JUDGE_SECONDS)
    try:
        result = runner(job, test, deadline)
    except JudgingTooLong:
        signal.setitimer(signal.ITIMER_REAL, 0)
        result = report(test, "error", message="the answer took too long to check")
        clean_up_after(test["uid"])  # the alarm may have cut the test's own clean-up short
    except StudentWontDie:
        result = report(test, "crashed", message="the program's processes could not be stopped")
    except CannotStart:
        result = report(test, "crashed", message="the program could not start: the process limit is used up")
    except STUDENT_DATA_ERRORS as exc:
        result = report(test, "error", message="garbled answer (%s)" % type(exc).__name__)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    result["duration"] = round(time.monotonic() - started, 4)
    return result


# -- pytest files -----------------------------------------------------------------------------
class StudentException(Exception):
    """Raised in the instructor's test when the student's function raised something unusual."""


class RemoteModule:
    """Stands for the student's module inside the instructor's pytest file.

    Attribute access returns a function that runs the call in the student process;
    arguments and results cross as plain data, so nothing the student returns
    can run code in this process.
    """

    def __init__(self, student: StudentProcess, deadline: float, name: str) -> None:
        self._student, self._deadline, self.__name__ = student, deadline, name
        self.timed_out = False

    def __getattr__(self, name: str) -> Callable[..., object]:
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args: object, **kwargs: object) -> object:
            message: CallRequest = {
                "name": name,
                "args": plaindata.encode(list(args)),
                "kwargs": plaindata.encode(dict(kwargs)),
            }
            try:
                frame = self._student.request(message, self._deadline)
            except StudentTimeout:
                self.timed_out = True
                self._student.kill_all()
                raise StudentException("time limit exceeded in %s()" % name) from None
            except StudentGone:
                raise StudentException("the student's program is no longer running") from None
            if type(frame) is not dict:
                raise StudentException("the program's answer could not be read")
            if frame.get("ok") is True:
                return plaindata.decode(frame.get("value"))
            raise remote_exception(verdict.clean_error(frame.get("error")) or {})

        call.__name__ = name
        return call


def remote_exception(error: Mapping[str, object]) -> Exception:
    """Rebuild a builtin exception by name (so pytest.raises works); anything else is wrapped."""
    name, message = str(error.get("type", "Exception")), str(error.get("message", ""))
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            return cls(message)
        except Exception:  # noqa: BLE001 - odd constructors (UnicodeDecodeError...)
            pass
    return StudentException("%s: %s" % (name, message))


# Built-in pytest plugins an instructor's test file does not need (each costs start-up time).
LEAN_PYTEST = [
    arg
    for plugin in (
        "cacheprovider",
        "doctest",
        "junitxml",
        "pastebin",
        "setuponly",
        "setupplan",
        "stepwise",
        "nose",
        "faulthandler",
        "legacypath",
    )
    for arg in ("-p", "no:" + plugin)
]


class Collector:
    """Each check of an instructor's pytest file, the first MAX_CASES of them."""

    MAX_CASES = 200

    def __init__(self) -> None:
        self.cases: list[Case] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if len(self.cases) >= self.MAX_CASES:
            return
        if report.when == "call" or report.outcome != "passed":
            text = report.longreprtext if report.outcome != "passed" else ""
            self.cases.append(
                {
                    "name": report.nodeid.split("::", 1)[-1],
                    "outcome": report.outcome,
                    "when": report.when,
                    "detail": text[-2000:],
                }
            )


def run_pytest(job: Job, test: RunningTest, deadline: float) -> Report:
    import pytest

    student = StudentProcess(job, base_init(job, test, "serve"), test["uid"])
    module_name = job["module"]
    try:
        try:
            loaded = student.answer(deadline)
        except StudentTimeout:
            return report(test, "timeout", message="time limit exceeded while importing")
        refused = verdict.load_report(test, loaded, student.returncode, streams(student))
        if refused is not None:
            return refused
        folder = os.path.join(PATHS["private"], "pytest-%s" % test["id"])
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, "test_%s.py" % test["id"])
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(test["spec"]["source"])
        remote = RemoteModule(student, deadline, module_name)
        sys.modules[module_name] = remote  # type: ignore[assignment]  # a stand-in: the test file only reads attributes
        collector = Collector()
        code = pytest.main(
            [
                path,
                "-q",
                *LEAN_PYTEST,
                "--rootdir",
                folder,
                "--confcutdir",
                folder,
                "-o",
                "console_output_style=classic",
            ],
            plugins=[collector],
        )
        return verdict.pytest_report(
            test, int(code) == 0, collector.cases, remote.timed_out, int(code), streams(student)
        )
    finally:
        sys.modules.pop(module_name, None)
        student.close()


# -- the job ----------------------------------------------------------------------------------
def make_undumpable() -> None:
    """Hide this process's memory and /proc entries even from a same-uid process."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def run_job(job: Job) -> list[Report]:
    budget_end = time.monotonic() + job["limits"]["wall_seconds"]
    # Visible tests first, hidden ones last: nothing a hidden test hands the student's code
    # can surface in the output of a test the student is allowed to see.
    order = sorted(job["tests"], key=lambda t: not t.get("visible", True))
    results: dict[str, Report] = {}
    for position, planned in enumerate(order):
        test: RunningTest = {**planned, "uid": job["student_uid"] + position}  # a user of its own per test
        now = time.monotonic()
        if now >= budget_end:
            results[test["id"]] = report(
                test, "timeout", message="submission time budget used up", duration=0.0
            )
            continue
        results[test["id"]] = run_test(job, test, min(now + test["time_limit"], budget_end))
    return [results[t["id"]] for t in job["tests"]]


# The harness's end of the socket to the spawner.
SPAWNER: socket.socket = None  # type: ignore[assignment]  # None only until main() starts the spawner


def main() -> None:
    global SPAWNER
    # The spawner is forked before the job is read: it never holds a test or the result channel.
    SPAWNER, _ = spawner.start()
    signal.signal(signal.SIGALRM, _judging_too_long)
    make_undumpable()
    if os.environ.get("GRADER_PRELOAD_PYTEST") == "1":
        import pytest  # noqa: F401 - a pooled container does this while it waits for its job
    result_fd = os.dup(1)
    job: Job = json.loads(sys.stdin.buffer.read(MAX_JOB_BYTES + 1))
    token = job["token"]
    PATHS.update(job.get("paths") or {})
    # Anything else this process (or pytest) prints goes to a private log, never to the result channel.
    os.makedirs(PATHS["private"], mode=0o700, exist_ok=True)
    log = os.open(os.path.join(PATHS["private"], "harness.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        line = verdict.fit(run_job(job), lambda tests: _result_line(token, {"status": "ok", "tests": tests}))
    except Exception as exc:  # noqa: BLE001 - report the harness's own failure as infrastructure
        import traceback

        body = {
            "status": "infra_error",
            "message": "harness failed: %r" % exc,
            "detail": traceback.format_exc()[-4000:],
        }
        line = _result_line(token, body)
    protocol.write_all(result_fd, line.encode("utf-8"))


def _result_line(token: str, body: Mapping[str, object]) -> str:
    return "%s %s %s\n" % (RESULT_MARKER, token, json.dumps(body, separators=(",", ":")))


if __name__ == "__main__":
    main()
    # The result line is written (unbuffered, on its own fd): skip the interpreter's teardown.
    # With pytest loaded, unloading its modules cost about 20 ms of CPU per submission, a
    # twentieth of what grading one costs, for a process that ends here anyway.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
