"""Student-side bootstrap: runs as the unprivileged student user, one process per test.

The spawner forks it already imported and calls ``run`` after dropping to the test's uid.

Everything in this process is untrusted once the student's module is imported:
the harness treats whatever arrives on the answer pipe as plain data to check,
never as a verdict. This file only sets the limits, lays out the files and
runs the student's code; it never sees expected values.

Two pipes: requests from the harness and answers to it (frames).
"""

from __future__ import annotations

import importlib  # noqa: F401 - pre-imported: the spawner forks this warm
import importlib.util
import os
import resource
import runpy  # noqa: F401 - pre-imported, as above
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any, NoReturn

    from . import plaindata, protocol
    from .wire import Answer, CallRequest, ErrorInfo, Init, StudentLimits
else:
    import plaindata
    import protocol

REQUESTS, ANSWERS = 3, 4
WORKDIR = "/tmp/work"


def apply_limits(limits: StudentLimits) -> None:
    # Hard limits equal soft ones, so student code cannot raise them again.
    for name, value in (
        ("RLIMIT_AS", limits["memory_bytes"]),
        ("RLIMIT_NPROC", limits["nproc"]),
        ("RLIMIT_CPU", limits["cpu_seconds"]),
        ("RLIMIT_FSIZE", limits["file_size_bytes"]),
        ("RLIMIT_NOFILE", limits["open_files"]),
        ("RLIMIT_CORE", 0),
    ):
        resource.setrlimit(getattr(resource, name), (value, value))
    try:
        # Make the student's process the OOM killer's first choice, never the harness.
        with open("/proc/self/oom_score_adj", "w") as handle:
            handle.write("1000")
    except OSError:
        pass


def fresh_workdir(files: dict[str, str]) -> None:
    """Lay out the files. Nothing of an earlier test is left: it ran as another uid, and the
    harness deleted that uid's files and processes when it ended."""
    os.makedirs(WORKDIR, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(WORKDIR, name), "w", encoding="utf-8") as handle:
            handle.write(content)
    os.chdir(WORKDIR)
    sys.path.insert(0, WORKDIR)


def describe(exc: BaseException) -> ErrorInfo:
    """Exception type, message and the last line of the student's own code involved."""
    line: int | None = None
    filename: str | None = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if frame.f_code.co_filename.startswith(WORKDIR):
            line, filename = lineno, os.path.basename(frame.f_code.co_filename)
    if isinstance(exc, SyntaxError) and exc.filename and exc.filename.startswith(WORKDIR):
        line, filename = exc.lineno, os.path.basename(exc.filename)
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {
        "type": type(exc).__name__,
        "message": str(exc)[:2000],
        "line": line,
        "file": filename,
        "traceback": text[-8000:],
    }


def answer(message: Answer) -> None:
    flush_output()  # what the code printed goes out before its answer, so none of it is lost
    try:
        protocol.write_frame(ANSWERS, message)
    except protocol.FrameError:
        too_large: ErrorInfo = {
            "type": "AnswerTooLarge",
            "message": "the value is too large to send back (over %d MB)" % (protocol.MAX_FRAME >> 20),
            "line": None,
        }
        answer({"ok": False, "error": too_large})
    except OSError:
        pass


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001 - the student may have closed or replaced it
            pass


def encoded_or_error(compute: Callable[[], object]) -> Answer:
    try:
        value = compute()
    except BaseException as exc:  # noqa: BLE001 - student code may raise anything
        return {"ok": False, "error": describe(exc)}
    try:
        return {"ok": True, "value": plaindata.encode(value)}
    except plaindata.Unencodable as exc:
        return {"ok": False, "error": {"type": "NotPlainData", "message": str(exc), "line": None}}
    except Exception as exc:  # noqa: BLE001 - e.g. an int with more digits than str() allows
        return {"ok": False, "error": {"type": "NotPlainData", "message": type(exc).__name__, "line": None}}


def run_main(init: Init) -> None:
    sys.argv = [init["main"]]

    try:
        namespace: dict[str, Any] = {}
        if init.get("setup") and init.get("setup_scope") == "module":
            exec(compile(init["setup"], "<setup>", "exec"), namespace)
        runpy.run_path(os.path.join(WORKDIR, init["main"]), init_globals=namespace, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        sys.stdout.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))
    except BaseException as exc:  # noqa: BLE001
        answer({"ok": False, "error": describe(exc)})
        traceback.print_exc()
        sys.stdout.flush()
        os._exit(1)


def import_student(init: Init) -> ModuleType:
    """Import the student's module. With the setup's ``module`` scope the setup runs first, in
    the module's own namespace, so the names it defines are globals of the student's code."""
    if not (init.get("setup") and init.get("setup_scope") == "module"):
        return importlib.import_module(init["module"])
    name = init["module"]
    spec = importlib.util.spec_from_file_location(name, os.path.join(WORKDIR, name + ".py"))
    assert spec is not None and spec.loader is not None  # a .py path always has a source loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    exec(compile(init["setup"], "<setup>", "exec"), module.__dict__)
    spec.loader.exec_module(module)
    return module


def run_expression(init: Init) -> None:
    def compute() -> object:
        namespace = dict(vars(import_student(init)))
        if init.get("setup") and init.get("setup_scope") != "module":
            # The default ("test") scope: the setup sees the module's names, the module not its.
            exec(compile(init["setup"], "<setup>", "exec"), namespace)
        return eval(compile(init["expr"], "<test>", "eval"), namespace)

    answer(encoded_or_error(compute))


def serve(init: Init) -> None:
    """Answer function calls from an instructor's pytest file, one frame each."""
    loaded = encoded_or_error(lambda: import_student(init) and None)
    answer(loaded)
    if not loaded["ok"]:
        return
    module = sys.modules[init["module"]]
    while True:
        try:
            request: CallRequest = protocol.read_frame(REQUESTS)
        except (EOFError, OSError, ValueError):
            return

        def call(request: CallRequest = request) -> object:
            function = getattr(module, request["name"])
            args = plaindata.decode(request["args"])
            kwargs = plaindata.decode(request["kwargs"])
            return function(*args, **kwargs)

        answer(encoded_or_error(call))


def run(requests_fd: int, answers_fd: int) -> NoReturn:
    global WORKDIR, REQUESTS, ANSWERS
    REQUESTS, ANSWERS = requests_fd, answers_fd
    init: Init = protocol.read_frame(REQUESTS)
    WORKDIR = init["workdir"]
    apply_limits(init["limits"])
    fresh_workdir(init["files"])
    mode = init["mode"]
    if mode != "serve":
        os.close(REQUESTS)
    if mode == "main":
        run_main(init)
    elif mode == "expr":
        run_expression(init)
    elif mode == "serve":
        serve(init)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
