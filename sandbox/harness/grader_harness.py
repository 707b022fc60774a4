"""The trusted test harness: PID 1 of every sandbox container.

It reads the job (files, tests, expected values, limits) from stdin, runs every
test in a fresh child process as an unprivileged, per-run user, compares the
answers itself and writes one result line on a file descriptor that no student
process holds. Expected values and other tests never enter a student process;
see sandbox/README.md for the threat model. Stdlib only (copied into the image).
"""

import builtins
import ctypes
import json
import math
import os
import re
import selectors
import shutil
import signal
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import plaindata  # noqa: E402
import protocol  # noqa: E402
import spawner  # noqa: E402

# Where things live in the container. The bare-subprocess benchmark passes its own
# ("paths" in the job) so that a run on a host never touches the host's /tmp.
PATHS = {"private": "/run/harness", "scratch": ["/tmp", "/dev/shm"], "workdir": "/tmp/work"}
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


class Capture:
    """Keeps the first ``cap`` bytes of a stream and counts the rest (never blocks the writer)."""

    def __init__(self, cap):
        self.cap, self.data, self.total = cap, bytearray(), 0

    def add(self, chunk):
        self.total += len(chunk)
        room = self.cap - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    def text(self):
        return self.data.decode("utf-8", errors="replace")

    @property
    def truncated(self):
        return self.total > len(self.data)


class StudentProcess:
    """One student process (one test), driven through pipes with select() and a deadline.

    The spawner forks it as ``uid``, a user of its own for this test.
    """

    def __init__(self, job, init, uid, stdin_bytes=b""):
        self.uid = uid
        limits = job["limits"]
        self.stdout, self.stderr = Capture(limits["output_bytes"]), Capture(limits["output_bytes"])
        self.frames = protocol.FrameBuffer()
        self.returncode = None
        env = dict(STUDENT_ENV, HOME=PATHS["workdir"])
        spawner.send(SPAWNER, {"uid": uid, "cwd": PATHS["scratch"][0], "env": env})
        reply, fds = spawner.recv(SPAWNER)
        if reply is None or len(fds) != 5:
            raise RuntimeError("the spawner did not start the student process")
        self.pid = reply["pid"]
        stdin_w, stdout_r, stderr_r, self.req_w, self.ans_r = fds
        self.outgoing = {self.req_w: bytearray(protocol.pack(init))}
        if stdin_bytes:
            self.outgoing[stdin_w] = bytearray(stdin_bytes)
        else:
            os.close(stdin_w)  # the program reads EOF at once
        self.readers = {stdout_r: self.stdout.add, stderr_r: self.stderr.add, self.ans_r: self.frames.feed}
        for fd in list(self.outgoing) + list(self.readers):
            os.set_blocking(fd, False)
        self.exited = False
        self.keep_requests_open = init["mode"] == "serve"

    # -- the pump -------------------------------------------------------------------------
    def _pump(self, deadline, want_frame):
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

    def _service(self, sel, fd):
        if fd is SPAWNER:
            sel.unregister(fd)
            self._collect_exit()
            self.kill_all()  # grandchildren may hold the pipes open
            return
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

    def _collect_exit(self):
        message, _ = spawner.recv(SPAWNER)
        if message is None:
            raise RuntimeError("the spawner died")
        self.returncode = os.waitstatus_to_exitcode(message["status"])
        self.exited = True

    def _close_out(self, fd):
        self.outgoing.pop(fd, None)
        try:
            os.close(fd)
        except OSError:
            pass

    # -- public -----------------------------------------------------------------------------
    def answer(self, deadline):
        return self._pump(deadline, want_frame=True)

    def request(self, message, deadline):
        if self.exited or self.req_w not in self.outgoing:
            raise StudentGone()
        self.outgoing[self.req_w] += protocol.pack(message)
        frame = self._pump(deadline, want_frame=True)
        if frame is None:
            raise StudentGone()
        return frame

    def finish(self, deadline):
        """Wait for the child to exit on its own and drain its output."""
        self._pump(deadline, want_frame=False)
        return self.returncode

    def kill_all(self):
        """SIGKILL every process of this test's user and delete its files: from a child
        that became that user, so kill(-1) reaches exactly those processes."""
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(self.uid)
                os.setuid(self.uid)
                os.kill(-1, signal.SIGKILL)
                wipe_own_files(PATHS["scratch"])
            finally:
                os._exit(0)
        os.waitpid(pid, 0)

    def close(self):
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


def wipe_own_files(folders):
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


def reap_orphans():
    """As PID 1 we inherit the student's orphans; collect the zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


# -- comparisons ------------------------------------------------------------------------------
NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$", re.I)


def compare_output(expected, actual, mode, rel_tol, abs_tol):
    if mode == "exact":
        return expected == actual
    if mode == "trailing":
        return _trailing(expected) == _trailing(actual)
    if mode == "whitespace":
        return expected.split() == actual.split()
    if mode == "numeric":
        want, got = expected.split(), actual.split()
        return len(want) == len(got) and all(
            _token_equal(w, g, rel_tol, abs_tol) for w, g in zip(want, got, strict=True)
        )
    if mode == "regex":
        return re.fullmatch(expected, actual.rstrip("\n"), re.DOTALL) is not None
    raise ValueError("unknown comparison mode %r" % mode)


def _trailing(text):
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


def _token_equal(want, got, rel_tol, abs_tol):
    if NUMBER.match(want) and NUMBER.match(got):
        w, g = float(want), float(got)
        if math.isnan(w) or math.isnan(g):
            return math.isnan(w) and math.isnan(g)
        return w == g or math.isclose(w, g, rel_tol=rel_tol, abs_tol=abs_tol)
    return want == got


# -- running one test -------------------------------------------------------------------------
def student_limits(job, test):
    limits = job["limits"]
    return {
        "memory_bytes": limits["memory_mb"] * 1024 * 1024,
        "nproc": max(limits["pids"] - 8, 4),
        "cpu_seconds": int(math.ceil(test["time_limit"])) + 1,
        "file_size_bytes": limits["file_size_bytes"],
        "open_files": limits["open_files"],
    }


def base_init(job, test, mode):
    return {
        "mode": mode,
        "files": job["files"],
        "module": job["module"],
        "main": job["main"],
        "setup": job.get("setup_code") or "",
        "limits": student_limits(job, test),
        "workdir": PATHS["workdir"],
    }


def report(test, outcome, **fields):
    earned = test["points"] if outcome == "passed" else 0
    data = {
        "id": test["id"],
        "name": test["name"],
        "outcome": outcome,
        "points": test["points"],
        "points_earned": earned,
        "message": "",
        "expected": None,
        "actual": None,
        "error": None,
    }
    data.update(fields)
    return data


def crash_outcome(returncode, error):
    if error and error.get("type") == "MemoryError":
        return "memory", "ran out of memory (MemoryError)"
    if returncode == -signal.SIGXCPU:
        return "timeout", "CPU time limit exceeded"
    if returncode == -signal.SIGXFSZ:
        return "error", "file size limit exceeded"
    if returncode == -signal.SIGKILL:
        return "memory", "killed by the kernel (out of memory)"
    if returncode is not None and returncode < 0:
        return "crashed", "killed by signal %d" % -returncode
    if error:
        return "error", "%s: %s" % (error["type"], error["message"])
    return "crashed", "exited with status %s before answering" % returncode


def run_io(job, test, deadline):
    spec = test["spec"]
    student = StudentProcess(job, base_init(job, test, "main"), test["uid"], spec.get("stdin", "").encode())
    try:
        try:
            code = student.finish(deadline)
        except StudentTimeout:
            return report(test, "timeout", message="time limit exceeded", **streams(student))
        error = student.frames.pop()
        error = error.get("error") if isinstance(error, dict) else None
        if code != 0:
            outcome, message = crash_outcome(code, error)
            if code > 0 and not error:
                outcome, message = "error", "exited with status %d" % code
            return report(test, outcome, message=message, error=error, **streams(student))
        actual = student.stdout.text()
        ok = compare_output(
            spec["stdout"],
            actual,
            spec.get("compare", "trailing"),
            spec.get("rel_tol", 1e-9),
            spec.get("abs_tol", 0.0),
        )
        return report(
            test,
            "passed" if ok else "failed",
            expected=spec["stdout"],
            actual=actual,
            message="" if ok else "output differs",
            **streams(student),
        )
    finally:
        student.close()


def streams(student):
    return {
        "stdout": student.stdout.text(),
        "stderr": student.stderr.text(),
        "stdout_truncated": student.stdout.truncated,
        "stderr_truncated": student.stderr.truncated,
    }


def run_expr(job, test, deadline):
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
        if frame is None or frame.get("ok") is not True:
            error = frame.get("error") if isinstance(frame, dict) else None
            outcome, message = crash_outcome(student.returncode, error)
            return report(test, outcome, message=message, error=error, **streams(student))
        try:
            actual = plaindata.decode(frame.get("value"))
        except (ValueError, TypeError, OverflowError) as exc:
            return report(test, "error", message="unreadable answer: %s" % exc, **streams(student))
        ok = plaindata.equal(expected, actual, spec.get("rel_tol", 1e-9), spec.get("abs_tol", 0.0))
        return report(
            test,
            "passed" if ok else "failed",
            expected=plaindata.short_repr(expected),
            actual=plaindata.short_repr(actual),
            message="" if ok else "wrong value",
            **streams(student),
        )
    finally:
        student.close()


def run_test(job, test, deadline):
    runner = {"io": run_io, "expr": run_expr, "pytest": run_pytest}[test["kind"]]
    started = time.monotonic()
    try:
        result = runner(job, test, deadline)
    except protocol.FrameError as exc:
        result = report(test, "error", message="garbled answer: %s" % exc)
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

    def __init__(self, student, deadline, name):
        self._student, self._deadline, self.__name__ = student, deadline, name
        self.timed_out = False

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)

        def call(*args, **kwargs):
            message = {
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
            if frame.get("ok") is True:
                return plaindata.decode(frame.get("value"))
            raise remote_exception(frame.get("error") or {})

        call.__name__ = name
        return call


def remote_exception(error):
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
    def __init__(self):
        self.cases = []

    def pytest_runtest_logreport(self, report):
        if report.when == "call" or report.outcome != "passed":
            text = report.longreprtext if report.outcome != "passed" else ""
            self.cases.append(
                {
                    "name": report.nodeid.split("::", 1)[-1],
                    "outcome": report.outcome,
                    "when": report.when,
                    "detail": text[-4000:],
                }
            )


def run_pytest(job, test, deadline):
    import pytest

    student = StudentProcess(job, base_init(job, test, "serve"), test["uid"])
    module_name = job["module"]
    try:
        try:
            loaded = student.answer(deadline)
        except StudentTimeout:
            return report(test, "timeout", message="time limit exceeded while importing")
        if not loaded or loaded.get("ok") is not True:
            error = loaded.get("error") if isinstance(loaded, dict) else None
            outcome, message = crash_outcome(student.returncode, error)
            return report(test, outcome, message=message, error=error, **streams(student))
        folder = os.path.join(PATHS["private"], "pytest-%s" % test["id"])
        os.makedirs(folder, mode=0o700, exist_ok=True)
        path = os.path.join(folder, "test_%s.py" % test["id"])
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(test["spec"]["source"])
        remote = RemoteModule(student, deadline, module_name)
        sys.modules[module_name] = remote
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
        return pytest_report(test, code, collector, remote, student)
    finally:
        sys.modules.pop(module_name, None)
        student.close()


def pytest_report(test, code, collector, remote, student):
    cases = collector.cases
    failed = [c for c in cases if c["outcome"] != "passed"]
    passed_all = int(code) == 0 and cases and not failed
    if remote.timed_out:
        outcome, message = "timeout", "time limit exceeded"
    elif passed_all:
        outcome, message = "passed", ""
    elif not cases:
        outcome, message = "error", "the test file collected no tests (exit code %d)" % int(code)
    else:
        outcome, message = "failed", "%d of %d checks failed" % (len(failed), len(cases))
    detail = "\n\n".join("%s: %s\n%s" % (c["name"], c["outcome"], c["detail"]) for c in failed)
    return report(
        test, outcome, message=message, cases=cases, actual=detail[-8000:] or None, **streams(student)
    )


# -- the job ----------------------------------------------------------------------------------
def make_undumpable():
    """Hide this process's memory and /proc entries even from a same-uid process."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        pass


def run_job(job):
    budget_end = time.monotonic() + job["limits"]["wall_seconds"]
    # Visible tests first, hidden ones last: nothing a hidden test hands the student's code
    # can surface in the output of a test the student is allowed to see.
    order = sorted(job["tests"], key=lambda t: not t.get("visible", True))
    results = {}
    for position, test in enumerate(order):
        test = dict(test, uid=job["student_uid"] + position)  # a user of its own per test
        now = time.monotonic()
        if now >= budget_end:
            results[test["id"]] = report(
                test, "timeout", message="submission time budget used up", duration=0.0
            )
            continue
        results[test["id"]] = run_test(job, test, min(now + test["time_limit"], budget_end))
    return [results[t["id"]] for t in job["tests"]]


SPAWNER = None  # the harness's end of the socket to the spawner


def main():
    global SPAWNER
    # The spawner is forked before the job is read: it never holds a test or the result channel.
    SPAWNER, _ = spawner.start()
    make_undumpable()
    if os.environ.get("GRADER_PRELOAD_PYTEST") == "1":
        import pytest  # noqa: F401 - a pooled container does this while it waits for its job
    result_fd = os.dup(1)
    job = json.loads(sys.stdin.buffer.read(MAX_JOB_BYTES + 1))
    token = job["token"]
    PATHS.update(job.get("paths") or {})
    # Anything else this process (or pytest) prints goes to a private log, never to the result channel.
    os.makedirs(PATHS["private"], mode=0o700, exist_ok=True)
    log = os.open(os.path.join(PATHS["private"], "harness.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        body = {"status": "ok", "tests": run_job(job)}
    except Exception as exc:  # noqa: BLE001 - report the harness's own failure as infrastructure
        import traceback

        body = {
            "status": "infra_error",
            "message": "harness failed: %r" % exc,
            "detail": traceback.format_exc()[-4000:],
        }
    line = "%s %s %s\n" % (RESULT_MARKER, token, json.dumps(body, separators=(",", ":")))
    protocol.write_all(result_fd, line.encode("utf-8"))


if __name__ == "__main__":
    main()
