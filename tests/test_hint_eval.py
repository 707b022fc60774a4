"""manage.py hint_eval: the shipped buggy programs graded in the sandbox, hints asked of a model
server, the report. Against the dev server here; against the real engine in test_real_vllm."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

from courses import demo
from courses.models import Assignment
from feedback import evaluation

pytestmark = [pytest.mark.django_db, pytest.mark.docker]


def test_the_shipped_set_is_at_least_thirty_known_bugs_over_the_demo_assignments():
    cases = evaluation.load_cases()
    assert len(cases) >= 30
    assert {c.assignment for c in cases} == {"binary-search", "fizzbuzz"}
    for case in cases:
        assert (
            case.bug and case.bug_lines and all(1 <= n <= len(case.code.splitlines()) for n in case.bug_lines)
        )


def test_the_leak_check_finds_hidden_inputs_and_reference_lines():
    demo.seed()
    search = Assignment.objects.get(course__code="cs101", slug="binary-search")
    rows = [
        {"name": "last element", "visible": False, "test_input": "search(10, sample_data)", "expected": "5"},
        {"name": "missing", "visible": True, "test_input": "search(4, (1, 3, 5, 7))", "expected": "-1"},
    ]
    code = "def search(x, xs):\n    return -1\n"
    assert evaluation.leaks("Try search(4, (1, 3, 5, 7)) by hand.", search, rows, code) == []
    assert evaluation.leaks("What does search(10, sample_data) give?", search, rows, code) == [
        "hidden test “last element” input"
    ]
    found = evaluation.leaks("Write `while lo <= hi:` and `mid = (lo + hi) // 2`", search, rows, code)
    assert any(f.startswith("line ") and "of the reference solution.py" in f for f in found)
    assert not any("lo <= hi" in f for f in found)  # named by its place, never quoted


def test_hint_eval_reports_on_every_program(llm, sandbox_image, tmp_path):
    demo.seed()
    out = tmp_path / "eval.md"
    call_command("hint_eval", "--base-url", llm.url, "--out", str(out))
    text = out.read_text()
    count = len(json.loads((evaluation.EVALSET / "manifest.json").read_text()))
    assert f"| programs | {count} |" in text
    assert "| schema-valid | 100% |" in text  # the dev server always answers by the schema
    assert "| hints with a leak | 0 |" in text
    for case in evaluation.load_cases():
        row = re.search(rf"^\| {re.escape(case.id)} \| \w+ \| (\d+)/(\d+) \|", text, re.M)
        assert row, case.id
        assert int(row.group(1)) < int(row.group(2)), case.id  # graded for real: the known bug shows
    for png in ("hint-eval-by-kind.png", "hint-eval-latency.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_hint_eval_explains_what_it_needs(llm, settings):
    with pytest.raises(CommandError, match="run manage.py seed_demo first"):
        call_command("hint_eval", "--base-url", llm.url, "--limit", "1")
    with pytest.raises(CommandError, match="No server"):
        call_command("hint_eval", "--base-url", "")
