"""From what a student process left behind to one test's report: pure functions, no I/O.

Everything that arrives from a student process (answer frames, exception names and
messages, line numbers, exit codes, output) is hostile input. These functions accept
*any* value in its place and always return a report that fits the result schema: a
student can make a test fail, error, crash or time out, but never make the harness
fail, because that would be reported as the platform's fault (not gradable, no attempt
charged) and could be triggered on purpose. The property is fuzzed in
tests/test_harness_fuzz.py.

Stdlib only: copied into the sandbox image.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False  # the harness does not load typing at run time (see wire.py)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Literal, Unpack, overload

    from . import compare, plaindata
    from .wire import Case, CleanError, Job, Outcome, Plain, Report, ReportFields, Spec, Streams, Test
else:
    try:  # imported as sandbox.harness.verdict on the host (tests, tools)
        from . import compare, plaindata
    except ImportError:  # in the image the harness files sit in one flat folder
        import compare
        import plaindata

MAX_NAME = 200
MAX_MESSAGE = 2000
MAX_TRACEBACK = 8000
MAX_VALUE = 8000
MAX_CASES = 1000
MAX_LINE = 10_000_000


if TYPE_CHECKING:

    @overload
    def clip(value: str | bytes, limit: int) -> str: ...
    @overload
    def clip(value: object, limit: int) -> str | None: ...


def clip(value: object, limit: int) -> str | None:
    """Any value as text of at most ``limit`` characters (None stays None)."""
    if value is None:
        return None
    if type(value) is str:
        text = value
    elif type(value) is bytes:
        text = value.decode("utf-8", "replace")
    else:
        try:
            text = repr(value)
        except (ValueError, RecursionError):  # an int past Python's digit limit, a deep list
            text = "<%s too large to show>" % type(value).__name__
    text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be stored
    return text if len(text) <= limit else text[: limit - 14] + "...[truncated]"


def clean_error(raw: object) -> CleanError | None:
    """The student's exception as the harness keeps it: typed fields, bounded sizes."""
    if type(raw) is not dict:
        return None
    line = raw.get("line")
    return {
        "type": clip(raw.get("type") or "Exception", MAX_NAME),
        "message": clip(raw.get("message") or "", MAX_MESSAGE),
        "line": line if type(line) is int and 0 < line <= MAX_LINE else None,
        "file": clip(raw["file"], MAX_NAME) if type(raw.get("file")) is str else None,
        "traceback": clip(raw.get("traceback") or "", MAX_TRACEBACK),
    }


def report(test: Test, outcome: Outcome, *, error: object = None, **fields: Unpack[ReportFields]) -> Report:
    data: Report = {
        "id": test["id"],
        "name": test["name"],
        "outcome": outcome,
        "points": test["points"],
        "points_earned": test["points"] if outcome == "passed" else 0,
        "message": "",
        "expected": None,
        "actual": None,
        "error": None,
        **fields,
    }
    data["message"] = clip(data["message"], MAX_MESSAGE)
    data["expected"] = clip(data["expected"], MAX_VALUE)
    data["actual"] = clip(data["actual"], MAX_VALUE)
    data["error"] = clean_error(error)
    return data


def crash_outcome(returncode: int | None, error: object) -> tuple[Outcome, str]:
    """Outcome and message for a student process that ended without a usable answer."""
    error = clean_error(error)
    if error and error["type"] == "MemoryError":
        return "memory", "ran out of memory (MemoryError)"
    if returncode == -signal.SIGXCPU:
        return "timeout", "CPU time limit exceeded"
    if returncode == -signal.SIGXFSZ:
        return "error", "file size limit exceeded"
    if returncode == -signal.SIGKILL:
        return "memory", "killed by the kernel (out of memory)"
    if type(returncode) is int and returncode < 0:
        return "crashed", "killed by signal %d" % -returncode
    if error:
        return "error", "%s: %s" % (error["type"], error["message"])
    return "crashed", "exited with status %s before answering" % clip(returncode, 40)


def _frame_error(frame: object) -> object:
    return frame.get("error") if type(frame) is dict else None


def unreadable(test: Test, why: str, streams: Streams) -> Report:
    return report(test, "error", message="the program's answer could not be read (%s)" % why, **streams)


def expr_report(
    test: Test,
    frame: object,
    returncode: int | None,
    streams: Streams,
    expected: Plain,
    rules: compare.Rules,
) -> Report:
    """An expression test: ``frame`` is whatever came back on the answer pipe (or None)."""
    if type(frame) is not dict or frame.get("ok") is not True:
        error = _frame_error(frame)
        if frame is not None and type(frame) is not dict:
            return unreadable(test, "not an answer frame", streams)
        outcome, message = crash_outcome(returncode, error)
        return report(test, outcome, message=message, error=error, **streams)
    try:
        actual = plaindata.decode(frame.get("value"))
    except (
        ValueError,
        TypeError,
        OverflowError,
        RecursionError,
        KeyError,
        AttributeError,
        IndexError,
    ) as exc:
        return unreadable(test, clip(str(exc), 200), streams)
    try:
        ok = compare.values_equal(expected, actual, rules)
    except (TypeError, ValueError, OverflowError, RecursionError):
        ok = False  # e.g. an unhashable set member: not equal to anything expected
    return report(
        test,
        "passed" if ok else "failed",
        expected=_safe_repr(expected),
        actual=_safe_repr(actual),
        message="" if ok else "wrong value",
        **streams,
    )


def _safe_repr(value: object) -> str:
    try:
        return plaindata.short_repr(value)
    except (ValueError, RecursionError):  # an int past Python's digit limit, say
        return "<a value too large to show>"


def io_report(
    test: Test, frame: object, returncode: int | None, streams: Streams, rules: compare.Rules
) -> Report:
    """A stdin/stdout test: the program ran as __main__ and has exited."""
    spec = test["spec"]
    error = _frame_error(frame)
    if returncode != 0:
        outcome, message = crash_outcome(returncode, error)
        if type(returncode) is int and returncode > 0 and not clean_error(error):
            outcome, message = "error", "exited with status %d" % returncode
        return report(test, outcome, message=message, error=error, **streams)
    actual = streams["stdout"]
    ok = compare.output_equal(spec["stdout"], actual, spec.get("compare", "trailing"), rules)
    return report(
        test,
        "passed" if ok else "failed",
        expected=spec["stdout"],
        actual=actual,
        message="" if ok else "output differs",
        **streams,
    )


def load_report(test: Test, frame: object, returncode: int | None, streams: Streams) -> Report | None:
    """A pytest test's first step (importing the student's module): None when it loaded."""
    if type(frame) is dict and frame.get("ok") is True:
        return None
    if frame is not None and type(frame) is not dict:
        return unreadable(test, "not an answer frame", streams)
    outcome, message = crash_outcome(returncode, _frame_error(frame))
    return report(test, outcome, message=message, error=_frame_error(frame), **streams)


def pytest_report(
    test: Test, passed_all: bool, cases: list[Case], timed_out: bool, exit_code: int, streams: Streams
) -> Report:
    failed = [c for c in cases if c["outcome"] != "passed"]
    outcome: Outcome
    if timed_out:
        outcome, message = "timeout", "time limit exceeded"
    elif passed_all and cases and not failed:
        outcome, message = "passed", ""
    elif not cases:
        outcome, message = "error", "the test file collected no tests (exit code %d)" % exit_code
    else:
        outcome, message = "failed", "%d of %d checks failed" % (len(failed), len(cases))
    detail = "\n\n".join("%s: %s\n%s" % (c["name"], c["outcome"], c["detail"]) for c in failed)
    return report(
        test, outcome, message=message, cases=cases[:MAX_CASES], actual=detail[-MAX_VALUE:] or None, **streams
    )


def rules_for(job: Job, spec: Spec) -> compare.Rules:
    """The comparison rules of one test: its own settings, else the assignment's default."""
    return compare.Rules(
        spec.get("rel_tol", 1e-9),
        spec.get("abs_tol", 0.0),
        spec.get("int_tolerance", False),
        spec.get("equality") or job.get("equality") or compare.STRICT,
    )


RESULT_BUDGET = 12 * 1024 * 1024  # the runner refuses a result line over 16 MB
if TYPE_CHECKING:
    BulkyKey = Literal["stdout", "stderr", "actual", "expected", "message"]
    ErrorTextKey = Literal["type", "message", "file", "traceback"]
    OutcomeOnlyKey = Literal["id", "name", "outcome", "points", "points_earned", "duration"]
BULKY: tuple[BulkyKey, ...] = ("stdout", "stderr", "actual", "expected", "message")
ERROR_TEXT: tuple[ErrorTextKey, ...] = ("type", "message", "file", "traceback")
OUTCOME_ONLY: tuple[OutcomeOnlyKey, ...] = ("id", "name", "outcome", "points", "points_earned", "duration")


def fit(
    tests: list[Report], encode: Callable[[Sequence[Mapping[str, object]]], str], budget: int = RESULT_BUDGET
) -> str:
    """The encoded result, cut until it fits ``budget``: many tests each printing (or raising
    with) their full allowance must not make the result too large to deliver, a failure the
    runner would have to call the platform's. Every text field shrinks step by step; at the
    end only names, outcomes and points are left, which always fit."""
    for cap in (None, 4096, 512, 64):
        if cap is not None:
            for test in tests:
                _shrink(test, cap)
        # Measured test by test, so an oversized result is never built whole in memory.
        if sum(len(encode([test])) for test in tests) <= budget:
            return encode(tests)
    return encode([{k: t[k] for k in OUTCOME_ONLY if k in t} for t in tests])


def _shrink(test: Report, cap: int) -> None:
    for key in BULKY:
        value = test.get(key)
        if value is not None and len(value) > cap:
            test[key] = clip(value, cap)
            if key == "stdout":
                test["stdout_truncated"] = True
            elif key == "stderr":
                test["stderr_truncated"] = True
    error = test.get("error")
    if error:
        for name in ERROR_TEXT:
            text = error.get(name)
            if text:
                error[name] = clip(text, min(cap, MAX_NAME))
    if test.get("cases"):
        test["cases"] = test["cases"][: max(10, cap // 8)]
        for case in test["cases"]:
            case["name"] = clip(case.get("name") or "", MAX_NAME)
            case["detail"] = clip(case.get("detail") or "", cap)
