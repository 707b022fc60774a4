"""Red team, class "a free not-gradable verdict": anything the student's code can cause is a
graded outcome of a test (failed / error / timeout / memory / crashed), never the platform's
infra_error (retried, then "not gradable", no attempt charged: an oracle for hidden inputs
and a way to burn grading capacity). Each attack also runs twice, to show that re-running a
submission gives the same verdict. Both container runtimes (runc, gVisor's runsc)."""

import pytest

import sandbox
from sandbox import ExprSpec, IOSpec, Job, Limits, PytestSpec, Test
from tests.conftest import SandboxTarget

pytestmark = pytest.mark.docker

GRADED = {"failed", "error", "timeout", "memory", "crashed"}


@pytest.fixture(params=sandbox.RUNTIMES)
def target(request, sandbox_image):
    return SandboxTarget(sandbox_image, request.param)


def expr(test_id, expression="f(1)", expected="1", visible=True, time_limit=2.0):
    spec = ExprSpec(expr=expression, expected=expected)
    return Test(id=test_id, name=test_id, spec=spec, visible=visible, time_limit=time_limit)


def run_twice(target, code, tests, **limits):
    """Run the same submission twice; both runs must be graded, with the same outcomes."""
    seen = []
    for _ in range(2):
        job = Job(files={"solution.py": code}, tests=tests, limits=Limits(wall_seconds=60, **limits))
        result = sandbox.run(job, target.image, runtime=target.runtime)
        assert result.status == sandbox.RunStatus.OK, result.message
        seen.append({t.id: t.outcome.value for t in result.tests})
    assert seen[0] == seen[1], "the same submission got two different verdicts"
    return seen[0], result


# A student-side helper that writes one raw frame on the answer pipe (fd 4) and leaves.
RAW = "import os, struct\ndef send(body):\n    os.write(4, struct.pack('>I', len(body)) + body)\n    os._exit(0)\n"
FORK_BOMB = "import os\ndef f(x):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n"
LINGERING_FORKS = (
    "import os, time\ndef f(x):\n    for _ in range(500):\n        try:\n            if os.fork() == 0:\n"
    "                time.sleep(30)\n                os._exit(0)\n        except OSError:\n            pass\n    return 1\n"
)
BOMB_AT_IMPORT = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"


@pytest.mark.parametrize(
    "code, pids",
    [(FORK_BOMB, 16), (FORK_BOMB, 64), (LINGERING_FORKS, 16), (LINGERING_FORKS, 64)],
    ids=["bomb-16", "bomb-64", "lingering-16", "lingering-64"],
)
def test_fork_bombs_in_every_test_are_graded(target, code, pids):
    tests = [expr(f"t{i}", f"f({i})", time_limit=1.0, visible=i < 2) for i in range(5)]
    outcomes, _ = run_twice(target, code, tests, pids=pids)
    assert set(outcomes.values()) <= GRADED | {"passed"}
    if code == FORK_BOMB:
        assert set(outcomes.values()) <= GRADED


def test_a_fork_bomb_at_import_time_in_program_tests_is_graded(target):
    tests = [Test(id=f"io{i}", name=f"io{i}", spec=IOSpec(stdout="1\n"), time_limit=1.0) for i in range(4)]
    outcomes, _ = run_twice(target, BOMB_AT_IMPORT, tests, pids=32)
    assert set(outcomes.values()) <= GRADED


FRAMES = {
    "a list": b"[1, 2]",
    "a string": b'"ok"',
    "a number": b"7",
    "null": b"null",
    "ok without a value": b'{"ok": true}',
    "ok is not a bool": b'{"ok": "yes", "value": {"i": "1"}}',
    "unknown tag": b'{"ok": true, "value": {"zz": 1}}',
    "two tags": b'{"ok": true, "value": {"i": "1", "f": "1.0"}}',
    "an int past the digit limit": b'{"ok": true, "value": {"i": "' + b"9" * 6000 + b'"}}',
    "a bare huge int": b'{"ok": true, "value": ' + b"9" * 6000 + b"}",
    "error of the wrong shape": b'{"ok": false, "error": [1, 2, 3]}',
    "error with odd fields": b'{"ok": false, "error": {"type": 5, "message": {"a": 1}, "line": "12"}}',
    "deep JSON": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "not UTF-8": b'{"ok": true, "value": "\xff\xfe"}',
    "lone surrogate": b'{"ok": false, "error": {"type": "\\ud800", "message": "\\u0000"}}',
    "not JSON": b"\x00\x01garbage",
}


@pytest.mark.parametrize("body", list(FRAMES.values()), ids=list(FRAMES))
def test_any_answer_frame_is_graded(target, body):
    code = RAW + f"def f(x):\n    send({body!r})\n"
    outcomes, result = run_twice(target, code, [expr("shape", visible=False), expr("after", "1", "1")])
    assert outcomes["shape"] in GRADED and outcomes["after"] == "passed"


@pytest.mark.parametrize(
    "header",
    [b"\xff\xff\xff\xff", b"\x00\x80\x00\x01", b"\x00\x00\x00\x10{"],
    ids=["4 GB declared", "over the frame cap", "cut short"],
)
def test_frames_that_lie_about_their_size_are_graded(target, header):
    code = f"import os\ndef f(x):\n    os.write(4, {header!r})\n    os._exit(0)\n"
    outcomes, _ = run_twice(target, code, [expr("lie")])
    assert outcomes["lie"] in GRADED


@pytest.mark.parametrize(
    "name",
    ["E" * 300, "E" * 100_000, "Ошибка" * 100, "E\\x00rror", "A" * 250 + "\\ud800"],
    ids=["300 chars", "100k chars", "non-ASCII", "NUL", "surrogate"],
)
def test_exceptions_with_odd_names_are_graded(target, name):
    code = f"def f(x):\n    raise type('{name}'.encode('utf-8', 'surrogatepass').decode('utf-8', 'surrogatepass'), (Exception,), {{}})('m' * 100000)\n"
    outcomes, result = run_twice(target, code, [expr("odd")])
    assert outcomes["odd"] == "error"
    assert len(result.tests[0].error.type) <= 200 and len(result.tests[0].message) <= 4000


def test_output_that_a_database_cannot_store_is_graded_and_made_storable(target):
    code = (
        "import sys\ndef f(x):\n    sys.stdout.buffer.write(b'\\x00\\xff\\xfe\\xed\\xa0\\x80')\n"
        "    sys.stderr.buffer.write(b'\\x00 and \\xed\\xb3\\xbf')\n    sys.stdout.flush()\n    return 2\n"
    )
    outcomes, result = run_twice(target, code, [expr("nul")])
    report = result.tests[0]
    assert outcomes["nul"] == "failed"
    assert "\x00" not in report.stdout + report.stderr
    (report.stdout + report.stderr).encode("utf-8")


def test_values_a_student_process_cannot_send_are_graded(target):
    code = "def f(x):\n    return 10 ** 6000\ndef g(x):\n    return {1: [1], '1': object()}\n"
    outcomes, _ = run_twice(target, code, [expr("huge"), expr("obj", "g(1)")])
    assert outcomes == {"huge": "error", "obj": "error"}


def test_full_output_in_many_tests_still_fits_the_result(target):
    code = "import sys\ndef f(x):\n    sys.stdout.write('\\x01' * 70_000)\n    sys.stderr.write('\\x02' * 70_000)\n    return 0\n"
    tests = [expr(f"t{i}", time_limit=5.0) for i in range(150)]
    outcomes, result = run_twice(target, code, tests)
    assert set(outcomes.values()) == {"failed"}
    assert all(t.stdout_truncated for t in result.tests)


def test_a_pytest_file_facing_a_broken_answer_is_graded(target):
    source = "from solution import f\n\ndef test_f():\n    assert f(1) == 1\n"
    pytest_test = Test(id="py", name="py", spec=PytestSpec(source=source), time_limit=5.0)
    for body in (b"[1]", b"[" * 100_000, b'{"ok": true, "value": {"zz": 0}}'):
        code = RAW + f"def f(x):\n    send({body!r})\n"
        outcomes, _ = run_twice(target, code, [pytest_test])
        assert outcomes["py"] in GRADED
    code = RAW + "send(b'[1, 2]')\n"  # at import time
    outcomes, _ = run_twice(target, code, [pytest_test])
    assert outcomes["py"] in GRADED


def test_a_value_built_to_be_slow_to_rebuild_is_graded(target):
    # 100,000 integers with the same hash: rebuilding the set costs the harness quadratic time.
    code = RAW + (
        "def f(x):\n    items = ','.join('{\"i\":\"%d\"}' % (k * (2 ** 61 - 1)) for k in range(100_000))\n"
        '    send((\'{"ok":true,"value":{"s":[\' + items + \']}}\').encode())\n'
    )
    outcomes, result = run_twice(target, code, [expr("slow", time_limit=1.0), expr("after", "1", "1")])
    assert outcomes == {"slow": "error", "after": "passed"}
    assert "too long to check" in result.tests[0].message


def test_many_tests_raising_huge_errors_still_fit_the_result(target):
    code = "def f(x):\n    raise type('\\U0001f600' * 500, (Exception,), {})('\\U0001f600' * 5000)\n"
    outcomes, _ = run_twice(target, code, [expr(f"t{i}") for i in range(300)])
    assert set(outcomes.values()) == {"error"}
