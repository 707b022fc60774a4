"""Reading the student's code (never running it): what it finds, on hand-made cases and on the
shipped buggy programs whose bugs are known (feedback/evalset)."""

import json
from pathlib import Path

import pytest

from courses.demo import FIZZ_REFERENCE, FIZZ_STATEMENT, SEARCH_REFERENCE, SEARCH_STATEMENT
from grading.static_checks import Interface, check, does_not_run, interface_of

SEARCH = interface_of(SEARCH_REFERENCE, SEARCH_STATEMENT, imports_module=True)
FIZZ = interface_of(FIZZ_REFERENCE, FIZZ_STATEMENT, imports_module=True)
EVALSET = Path(__file__).resolve().parent.parent / "feedback" / "evalset"


def kinds(code, interface=SEARCH, extra=None):
    files = {"solution.py": code, **(extra or {})}
    return [f.kind for f in check(files, "solution.py", interface)]


def test_the_interface_is_what_the_public_text_names():
    assert SEARCH.functions == {"search": (2, 2)}
    assert FIZZ.functions == {"fizz": (1, 1)}
    hidden_helper = "def search(x, xs):\n    return _go(x, xs)\n\ndef _go(x, xs):\n    return -1\n"
    assert interface_of(hidden_helper, SEARCH_STATEMENT, True).functions == {"search": (2, 2)}


@pytest.mark.parametrize(
    "code, expected",
    [
        ("def search(x, xs):\n    return -1\n", []),
        ("def search(x, xs)\n    return -1\n", ["syntax"]),
        ("n = int(input())\ndef search(x, xs):\n    return -1\n", ["input_at_import"]),
        ("import sys\ndata = sys.stdin.read()\ndef search(x, xs):\n    return -1\n", ["input_at_import"]),
        (
            'def search(x, xs):\n    return -1\n\nif __name__ == "__main__":\n    print(search(int(input()), ()))\n',
            [],
        ),
        ("def serach(x, xs):\n    return -1\n", ["missing_function"]),
        ("def search(xs):\n    return -1\n", ["wrong_arity"]),
        ("def search(x, xs, lo=0, hi=None):\n    return -1\n", []),  # extra defaults are fine
        ("def search(*args):\n    return -1\n", []),
        ("def search(x, xs):\n    print(xs.index(x))\n", ["prints_not_returns"]),
        ("def search(x, xs):\n    print(x)\n    return -1\n", []),
        ("def search(x, xs):\n    return totl\n", ["undefined_name"]),
        ("def search(x, xs):\n    global seen\n    seen = 1\n    return seen\n", []),
        ("from math import *\ndef search(x, xs):\n    return floor(x)\n", []),  # a star import may define it
        ("search = lambda x, xs: -1\n", []),  # defined another way
        ("def search(x, xs):\n    return [y for y in xs if y == x]\n", []),
        (
            "def search(x, xs):\n    try:\n        return xs.index(x)\n    except ValueError as e:\n        return -1\n",
            [],
        ),
    ],
)
def test_each_kind_of_finding(code, expected):
    assert kinds(code) == expected


def test_names_from_the_setup_snippet_count_only_in_the_module_scope():
    code = "def search(x, xs=sample_data):\n    return -1\n"
    assert kinds(code) == ["undefined_name"]
    module = Interface(SEARCH.functions, True, frozenset({"sample_data"}))
    assert kinds(code, module) == []


def test_other_files_are_modules_the_code_may_use():
    assert (
        kinds("import helper\ndef search(x, xs):\n    return helper.go(x, xs)\n", extra={"helper.py": ""})
        == []
    )


def test_a_program_tested_by_its_output_may_read_input_at_the_top():
    program = Interface({}, imports_module=False)
    assert kinds("n = int(input())\nprint(n)\n", program) == []


def test_messages_say_where_and_what():
    [syntax] = check({"solution.py": "def search(x, xs)\n    return -1\n"}, "solution.py", SEARCH)
    assert syntax.line == 1 and "solution.py line 1" in syntax.message and does_not_run([syntax]) == syntax
    [typo] = check(
        {"solution.py": "def search(x, xs):\n    total = 0\n    return totl\n"}, "solution.py", SEARCH
    )
    assert typo.line == 3 and "`totl`" in typo.message and "`total`" in typo.message


@pytest.mark.parametrize(
    "code",
    [
        "x = " + "+".join(["1"] * 100_000) + "\n",
        "x = a" + ".b" * 50_000 + "\n",
        "if " + "not " * 50_000 + "__name__ == '__main__':\n    pass\n",
        "x = f" + "()" * 50_000 + "\n",
        "def search(x, xs):\n"
        + "".join("    " * (i + 1) + "if x:\n" for i in range(90))
        + "    " * 91
        + "return totl\n",
    ],
)
def test_code_built_to_exhaust_recursion_never_raises(code):
    check({"solution.py": code}, "solution.py", SEARCH)  # returns, whatever it finds


def test_huge_or_absurd_files_are_not_analysed_and_nothing_raises():
    assert kinds("x = 1\n" * 60_000) == []  # over the size this reads
    assert kinds("x = " + "(" * 500 + ")" * 500 + "\n")  # Python refuses the nesting: a syntax finding


def test_on_the_shipped_buggy_programs_the_findings_match_their_known_kind():
    manifest = json.loads((EVALSET / "manifest.json").read_text())
    interfaces = {"binary-search": SEARCH, "fizzbuzz": FIZZ}
    for entry in manifest:
        code = (EVALSET / entry["file"]).read_text()
        found = kinds(code, interfaces[entry["assignment"]])
        if entry["kind"] == "syntax":
            assert found == ["syntax"], entry["id"]
        elif entry["kind"] == "import_time":
            assert "input_at_import" in found, entry["id"]
        else:
            assert "syntax" not in found and "input_at_import" not in found, (entry["id"], found)
