"""Deterministic hints: useful, and never quoting a hidden test's values."""

from feedback.fallback import build_hint


def result(name, outcome, visible=True, **extra):
    return {
        "name": name,
        "outcome": outcome,
        "visible": visible,
        "expected": None,
        "actual": None,
        "message": "",
        "error": None,
        **extra,
    }


def test_it_gives_no_hint_when_everything_passed():
    assert build_hint([result("a", "passed")]) is None


def test_it_points_at_the_line_of_an_exception():
    hint = build_hint(
        [result("a", "error", error={"type": "IndexError", "message": "list index out of range", "line": 7})]
    )
    assert (
        hint.line == 7 and "IndexError at line 7" in hint.text and hint.concept == "runtime error: IndexError"
    )


def test_it_prefers_a_visible_failure_and_shows_expected_and_actual():
    hint = build_hint(
        [
            result("hidden", "failed", visible=False, expected="SECRET"),
            result("shown", "failed", expected="5", actual="6"),
        ]
    )
    assert "expected 5 but your code gave 6" in hint.text


def test_it_never_quotes_hidden_values():
    hint = build_hint([result("h", "failed", visible=False, expected="SECRET", actual="LEAK")])
    assert "SECRET" not in hint.text and "LEAK" not in hint.text and "edge cases" in hint.text


def test_it_explains_timeouts_and_memory():
    assert "ran out of time" in build_hint([result("t", "timeout")]).text
    assert "ran out of memory" in build_hint([result("m", "memory")]).text


def test_it_spots_a_missing_return_without_quoting_hidden_values():
    hint = build_hint([result("h", "failed", visible=False, expected="SECRET", actual="None")])
    assert "`return`" in hint.text and hint.concept == "missing return" and "SECRET" not in hint.text


def test_what_reading_the_code_found_leads_the_hint_even_for_a_hidden_failure():
    hidden = [{"name": "big", "visible": False, "outcome": "error", "expected": None, "actual": None}]
    found = [
        {
            "kind": "prints_not_returns",
            "message": "`add` prints its result…",
            "file": "solution.py",
            "line": 1,
        },
        {
            "kind": "undefined_name",
            "message": "Line 3 uses `totl`, which is never defined.",
            "file": "solution.py",
            "line": 3,
        },
    ]
    hint = build_hint(hidden, "solution.py", found)
    assert hint.text.startswith("Line 3 uses `totl`") and hint.line == 3 and hint.concept == "undefined name"
    elsewhere = [{**found[1], "file": "helper.py"}]
    assert build_hint(hidden, "solution.py", elsewhere).line is None  # a line of another file is not shown
    passed = [{"name": "big", "visible": False, "outcome": "passed"}]
    assert build_hint(passed, "solution.py", found) is None  # nothing failed: no hint


def test_a_timeout_behind_another_failure_is_mentioned():
    results = [
        result("small", "failed", expected="3", actual="-1"),
        result("big", "timeout", visible=False),
    ]
    hint = build_hint(results)
    assert "expected 3" in hint.text and "Also, “big” ran out of time" in hint.text
    only = build_hint([result("big", "timeout", visible=False)])
    assert only.text.count("ran out of time") == 1  # said once when it is the hint itself
