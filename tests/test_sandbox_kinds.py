"""Every test kind and comparison mode, in real containers (sandbox library, no Django)."""

import pytest

import sandbox
from sandbox import ExprSpec, IOSpec, Job, PytestSpec, Test

pytestmark = pytest.mark.docker

ECHO = "import sys\nsys.stdout.write(sys.stdin.read())\n"


def io(test_id, stdin, expected, compare="trailing", **kw):
    return Test(id=test_id, name=test_id, spec=IOSpec(stdin=stdin, stdout=expected, compare=compare, **kw))


def expr(test_id, expression, expected, **kw):
    return Test(id=test_id, name=test_id, spec=ExprSpec(expr=expression, expected=expected, **kw))


def outcomes(result):
    assert result.status == sandbox.RunStatus.OK, result.message
    return {t.id: t.outcome.value for t in result.tests}


def test_it_compares_output_in_every_mode(sandbox_image):
    tests = [
        io("exact_ok", "a b\n", "a b\n", "exact"),
        io("exact_trailing_space", "a b \n", "a b\n", "exact"),
        io("trailing_ok", "a b  \n\n\n", "a b\n", "trailing"),
        io("trailing_inner_space", "a  b\n", "a b\n", "trailing"),
        io("whitespace_ok", "a\n  b\tc\n", "a b c", "whitespace"),
        io("whitespace_wrong", "a b d\n", "a b c", "whitespace"),
        io("numeric_ok", "x 0.3333333333\n", "x 0.33333333333", "numeric", rel_tol=1e-6),
        io("numeric_wrong", "x 0.34\n", "x 0.33", "numeric", rel_tol=1e-6),
        io("numeric_word_mismatch", "y 0.33\n", "x 0.33", "numeric", rel_tol=1e-6),
        io("numeric_nan", "nan\n", "NaN", "numeric"),
        io("regex_ok", "Total: 42 items\n", r"Total: \d+ items", "regex"),
        io("regex_partial_is_not_enough", "Total: 42 items and more\n", r"Total: \d+ items", "regex"),
    ]
    result = sandbox.run(Job(files={"solution.py": ECHO}, tests=tests), sandbox_image)
    assert outcomes(result) == {
        "exact_ok": "passed",
        "exact_trailing_space": "failed",
        "trailing_ok": "passed",
        "trailing_inner_space": "failed",
        "whitespace_ok": "passed",
        "whitespace_wrong": "failed",
        "numeric_ok": "passed",
        "numeric_wrong": "failed",
        "numeric_word_mismatch": "failed",
        "numeric_nan": "passed",
        "regex_ok": "passed",
        "regex_partial_is_not_enough": "failed",
    }
    wrong = result.tests[1]
    assert (wrong.expected, wrong.actual, wrong.points_earned) == ("a b\n", "a b \n", 0)


VALUES = """
def value(name):
    return {
        "nan": float("nan"), "negzero": -0.0, "nested": {"k": [(1, 2.5), {3, 4}, None, b"x"]},
        "set": {1, 2, 3}, "list": [1, 2, 3], "tuple": (1, 2, 3), "long": "ab" * 100_000,
        "float": 0.1 + 0.2, "true": True, "one": 1, "big": 10 ** 50, "complex": 1 + 2j,
    }[name]
"""


def test_it_compares_expression_values_exactly_and_with_tolerance(sandbox_image):
    tests = [
        expr("nan", "value('nan')", "nan"),
        expr("negzero", "value('negzero')", "0.0"),
        expr("nested", "value('nested')", "{'k': [(1, 2.5), {4, 3}, None, b'x']}"),
        expr("set_vs_list", "value('list')", "{1, 2, 3}"),
        expr("list_vs_tuple", "value('list')", "(1, 2, 3)"),
        expr("set_ok", "value('set')", "{3, 2, 1}"),
        expr("long", "value('long')", repr("ab" * 100_000)),
        expr("float_tolerance", "value('float')", "0.3"),
        expr("float_strict", "value('float')", "0.3", rel_tol=0.0),
        expr("bool_is_not_int", "value('true')", "1"),
        expr("int_is_not_bool", "value('one')", "True"),
        expr("big", "value('big')", str(10**50)),
        expr("complex", "value('complex')", "(1+2j)"),
        expr("fixture", "value('one') + len(sample)", "4"),
    ]
    job = Job(files={"solution.py": VALUES}, tests=tests, setup_code="sample = (1, 2, 3)")
    assert outcomes(sandbox.run(job, sandbox_image)) == {
        "nan": "passed",
        "negzero": "passed",
        "nested": "passed",
        "set_vs_list": "failed",
        "list_vs_tuple": "failed",
        "set_ok": "passed",
        "long": "passed",
        "float_tolerance": "passed",
        "float_strict": "failed",
        "bool_is_not_int": "failed",
        "int_is_not_bool": "failed",
        "big": "passed",
        "complex": "passed",
        "fixture": "passed",
    }


def test_it_reports_exceptions_with_the_students_line(sandbox_image):
    code = "def f(xs):\n    total = 0\n    return xs[10]\n"
    result = sandbox.run(Job(files={"solution.py": code}, tests=[expr("e", "f([1])", "1")]), sandbox_image)
    report = result.tests[0]
    assert report.outcome == sandbox.Outcome.ERROR
    assert (report.error.type, report.error.line, report.error.file) == ("IndexError", 3, "solution.py")


def test_it_reports_syntax_errors(sandbox_image):
    result = sandbox.run(
        Job(files={"solution.py": "def f(:\n"}, tests=[expr("e", "f()", "1")]), sandbox_image
    )
    assert result.tests[0].outcome == sandbox.Outcome.ERROR and result.tests[0].error.type == "SyntaxError"


PYTEST_FILE = """
import pytest
import solution
from solution import add

def test_add():
    assert add(2, 3) == 5

def test_add_floats():
    assert add(0.1, 0.2) == pytest.approx(0.3)

def test_raises():
    with pytest.raises(TypeError):
        solution.add(1, "x")
"""


def test_it_runs_instructor_pytest_files(sandbox_image):
    good = "def add(a, b):\n    return a + b\n"
    bad = "def add(a, b):\n    return a + b if a != 2 else 0\n"
    tests = [Test(id="p", name="pytest", spec=PytestSpec(source=PYTEST_FILE), points=3)]
    ok = sandbox.run(Job(files={"solution.py": good}, tests=tests), sandbox_image)
    assert outcomes(ok) == {"p": "passed"} and ok.score == 3
    assert [c["outcome"] for c in ok.tests[0].cases] == ["passed", "passed", "passed"]
    failed = sandbox.run(Job(files={"solution.py": bad}, tests=tests), sandbox_image)
    assert outcomes(failed) == {"p": "failed"} and failed.score == 0
    assert "1 of 3 checks failed" in failed.tests[0].message
    assert "assert 0 == 5" in failed.tests[0].actual


def test_it_runs_a_program_with_stdin_and_separate_points(sandbox_image):
    code = "n = int(input())\nprint(n * 2)\n"
    tests = [
        Test(id="a", name="a", spec=IOSpec(stdin="21\n", stdout="42\n"), points=2.5),
        Test(id="b", name="b", spec=IOSpec(stdin="1\n", stdout="3\n"), points=1, visible=False),
    ]
    result = sandbox.run(Job(files={"solution.py": code}, tests=tests), sandbox_image)
    assert outcomes(result) == {"a": "passed", "b": "failed"}
    assert (result.score, result.max_score) == (2.5, 3.5)


def test_it_reports_a_missing_image_as_an_infrastructure_failure():
    job = Job(files={"solution.py": "x = 1"}, tests=[expr("e", "1", "1")])
    result = sandbox.run(job, "grader-sandbox-python:does-not-exist")
    assert result.status == sandbox.RunStatus.INFRA_ERROR and "missing" in result.message


UNITTEST_FILE = """
import unittest
from solution import add

class AddTest(unittest.TestCase):
    def test_add(self):
        self.assertEqual(add(2, 3), 5)

    def test_type_error(self):
        with self.assertRaises(TypeError):
            add(1, "x")
"""


def test_it_runs_unittest_style_files_too(sandbox_image):
    tests = [Test(id="u", name="unittest", spec=PytestSpec(source=UNITTEST_FILE))]
    result = sandbox.run(
        Job(files={"solution.py": "def add(a, b):\n    return a + b\n"}, tests=tests), sandbox_image
    )
    assert outcomes(result) == {"u": "passed"}
    assert [c["name"] for c in result.tests[0].cases] == ["AddTest::test_add", "AddTest::test_type_error"]


def test_an_expected_int_is_compared_exactly_in_both_kinds_of_test(sandbox_image):
    code = "def big():\n    return 1e20\ndef three():\n    return 3.0\nif __name__ == '__main__':\n    print(1e20)\n"
    tests = [
        expr("float_for_int", "big()", "100000000000000000001"),
        expr("exact_float", "three()", "3"),
        expr("tolerant_by_request", "big()", "100000000000000000001", int_tolerance=True),
        io("numeric_token", "", "100000000000000000001\n", "numeric"),
        io("numeric_token_tolerant", "", "100000000000000000001\n", "numeric", int_tolerance=True),
    ]
    result = sandbox.run(Job(files={"solution.py": code}, tests=tests), sandbox_image)
    assert outcomes(result) == {
        "float_for_int": "failed",
        "exact_float": "passed",
        "tolerant_by_request": "passed",
        "numeric_token": "failed",
        "numeric_token_tolerant": "passed",
    }


def test_equality_is_strict_by_default_and_pythons_own_on_request(sandbox_image):
    code = "def zero():\n    return False\n"
    tests = [
        expr("default", "zero()", "0"),
        expr("test_says_python", "zero()", "0", equality="python"),
        expr("test_says_strict", "zero()", "0", equality="strict"),
    ]
    for job_default, expected in (
        ("strict", {"default": "failed", "test_says_python": "passed", "test_says_strict": "failed"}),
        ("python", {"default": "passed", "test_says_python": "passed", "test_says_strict": "failed"}),
    ):
        job = Job(files={"solution.py": code}, tests=tests, equality=job_default)
        assert outcomes(sandbox.run(job, sandbox_image)) == expected


def test_the_setup_snippet_runs_in_the_test_or_in_the_students_module(sandbox_image):
    code = "def total():\n    return sum(DATA)\nif __name__ == '__main__':\n    print(total())\n"
    setup = "DATA = (1, 2, 3)\nimport math\n"
    tests = [expr("uses_setup_name", "total()", "6"), io("program", "", "6\n")]
    isolated = Job(files={"solution.py": code}, tests=tests, setup_code=setup)
    module = Job(files={"solution.py": code}, tests=tests, setup_code=setup, setup_scope="module")
    result = sandbox.run(isolated, sandbox_image)
    assert outcomes(result) == {"uses_setup_name": "error", "program": "error"}
    assert result.tests[0].error.type == "NameError"
    assert outcomes(sandbox.run(module, sandbox_image)) == {"uses_setup_name": "passed", "program": "passed"}


def test_output_of_an_expression_test_is_kept_without_a_flush(sandbox_image):
    code = (
        "import sys\ndef f():\n    sys.stdout.write('partial line, no newline')\n"
        "    print('x' * 50000, end='')\n    sys.stderr.write('to stderr')\n    return 1\n"
    )
    result = sandbox.run(Job(files={"solution.py": code}, tests=[expr("f", "f()", "1")]), sandbox_image)
    report = result.tests[0]
    assert report.outcome.value == "passed"
    assert report.stdout.startswith("partial line, no newline") and len(report.stdout) == 24 + 50000
    assert report.stderr == "to stderr"
