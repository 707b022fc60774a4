"""Property-based fuzzing of everything the harness reads from the student's side.

Whatever bytes arrive on the answer pipe, whatever shape the decoded frame has, whatever an
exception's name, message or line is, in whatever encoding: the harness's judging code returns
a report that the runner accepts and that PostgreSQL can store, and it never raises. A raise
would make the run the platform's failure ("not gradable", no attempt charged), which a
student could trigger on purpose. The same functions run inside the container
(sandbox/harness/verdict.py); the container-level attacks are in test_sandbox_redteam.py.
"""

import json
import struct

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sandbox.harness import compare, plaindata, protocol, verdict
from sandbox.runner import storable
from sandbox.schema import Outcome, TestReport

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EXPR_TEST = {
    "id": "t1",
    "name": "hidden one",
    "points": 2.0,
    "spec": {"kind": "expr", "expr": "f(1)", "expected": "3"},
}
IO_TEST = {"id": "t2", "name": "io", "points": 1.0, "spec": {"kind": "io", "stdin": "", "stdout": "3\n"}}
STREAMS = {"stdout": "", "stderr": "", "stdout_truncated": False, "stderr_truncated": False}

text = st.text(alphabet=st.characters(codec=None), max_size=400)  # any code point, surrogates too
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | text
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=30,
)
error_dicts = st.fixed_dictionaries(
    {},
    optional={
        "type": json_values,
        "message": json_values,
        "line": json_values,
        "file": json_values,
        "traceback": json_values,
    },
)
frames = (
    json_values
    | st.fixed_dictionaries({"ok": json_values}, optional={"value": json_values, "error": error_dicts})
    | st.builds(lambda e: {"ok": False, "error": e}, error_dicts)
    | st.builds(lambda v: {"ok": True, "value": v}, json_values)
)
returncodes = st.none() | st.integers(min_value=-64, max_value=300)


def acceptable(report):
    """What the runner does with a report: make it storable, validate it with the schema."""
    parsed = TestReport.model_validate(storable(json.loads(json.dumps(report))))
    for value in (parsed.message, parsed.expected or "", parsed.actual or "", parsed.stdout):
        assert "\x00" not in value
        value.encode("utf-8")  # no lone surrogates left
    return parsed


@FUZZ
@given(frame=frames, returncode=returncodes)
def test_any_expression_answer_becomes_a_valid_report(frame, returncode):
    report = verdict.expr_report(EXPR_TEST, frame, returncode, STREAMS, 3, compare.Rules())
    parsed = acceptable(report)
    if parsed.outcome == Outcome.PASSED:  # only a real 3 passes
        assert frame["ok"] is True and plaindata.decode(frame["value"]) == 3


@FUZZ
@given(frame=frames, returncode=returncodes, stdout=text)
def test_any_program_ending_becomes_a_valid_report(frame, returncode, stdout):
    streams = dict(STREAMS, stdout=stdout)
    parsed = acceptable(verdict.io_report(IO_TEST, frame, returncode, streams, compare.Rules()))
    assert parsed.outcome != Outcome.PASSED or (returncode == 0 and stdout.rstrip() == "3")


@FUZZ
@given(frame=frames, returncode=returncodes)
def test_any_answer_to_a_pytest_import_becomes_a_valid_report_or_goes_on(frame, returncode):
    report = verdict.load_report(EXPR_TEST, frame, returncode, STREAMS)
    if report is None:
        assert frame["ok"] is True
    else:
        assert acceptable(report).outcome != Outcome.PASSED


@FUZZ
@given(raw=st.binary(max_size=2000), declared=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_bytes_on_the_answer_pipe_are_a_frame_or_a_frame_error(raw, declared):
    for data in (raw, struct.pack(">I", declared) + raw, struct.pack(">I", len(raw)) + raw):
        buffer = protocol.FrameBuffer()
        try:
            buffer.feed(data)
            frame = buffer.pop()
        except protocol.FrameError:
            continue  # the harness reports "garbled answer": a graded error
        acceptable(verdict.expr_report(EXPR_TEST, frame, 0, STREAMS, 3, compare.Rules()))


@settings(max_examples=20, deadline=None)
@given(depth=st.integers(min_value=900, max_value=200_000), bracket=st.sampled_from("[{"))
def test_deeply_nested_json_is_a_frame_error(depth, bracket):
    closing = {"[": "]", "{": "}"}[bracket]
    inner = '"a":1' if bracket == "{" else "1"
    body = (bracket + ('"k":' if bracket == "{" else "")) * depth + inner + closing * (depth + 1)
    buffer = protocol.FrameBuffer()
    buffer.feed(struct.pack(">I", len(body)) + body.encode())
    try:
        frame = buffer.pop()
    except protocol.FrameError:
        return
    acceptable(verdict.expr_report(EXPR_TEST, frame, 0, STREAMS, 3, compare.Rules()))


@FUZZ
@given(error=error_dicts, returncode=returncodes)
def test_any_exception_description_is_kept_within_bounds(error, returncode):
    outcome, message = verdict.crash_outcome(returncode, error)
    assert outcome in {"memory", "timeout", "error", "crashed"}
    cleaned = verdict.clean_error(error)
    assert len(cleaned["type"]) <= verdict.MAX_NAME and len(cleaned["message"]) <= verdict.MAX_MESSAGE
    assert cleaned["line"] is None or 0 < cleaned["line"] <= verdict.MAX_LINE
    acceptable(verdict.report(EXPR_TEST, outcome, message=message, error=error))


def test_many_tests_at_their_output_allowance_still_fit_one_result_line():
    big = "é\x01" * 32_000  # escapes make the JSON several times longer than the text
    tests = [
        verdict.report(dict(EXPR_TEST, id=f"t{i}"), "failed", stdout=big, stderr=big, actual=big)
        for i in range(400)
    ]
    line = verdict.fit(tests, lambda t: json.dumps({"tests": t}))
    assert len(line) <= verdict.RESULT_BUDGET
    assert all(t["stdout_truncated"] for t in json.loads(line)["tests"])


def test_many_tests_raising_their_longest_errors_still_fit_one_result_line():
    emoji = "\U0001f600"
    error = {"type": emoji * 500, "message": emoji * 5000, "file": emoji * 500, "traceback": emoji * 8000}
    cases = [{"name": emoji * 300, "outcome": "failed", "when": "call", "detail": emoji * 2000}] * 200
    tests = [
        verdict.report(dict(EXPR_TEST, id=f"t{i}"), "error", message=emoji * 5000, error=error, cases=cases)
        for i in range(100)
    ]
    line = verdict.fit(tests, lambda t: json.dumps({"tests": t}))
    assert len(line) <= verdict.RESULT_BUDGET
    assert len(json.loads(line)["tests"]) == 100


def test_an_expected_value_past_the_digit_limit_does_not_break_the_report():
    huge = int("f" * 5000, 16)
    frame = {"ok": True, "value": {"i": "1"}}
    report = verdict.expr_report(EXPR_TEST, frame, 0, STREAMS, huge, compare.Rules())
    assert acceptable(report).outcome == Outcome.FAILED


def test_decoding_is_bounded_in_items():
    payload = {"l": [{"i": "1"}] * (plaindata.MAX_ITEMS + 1)}
    try:
        plaindata.decode(payload)
    except ValueError as exc:
        assert "too large" in str(exc)
    else:
        raise AssertionError("an unbounded value was rebuilt")
