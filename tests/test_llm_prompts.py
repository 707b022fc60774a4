"""Prompts for prefix caching and personalization, and the guard (no server needed)."""

import pytest

from feedback.llm import FailingTest, HintAnswer, HintItem, HintRequest, build_messages, guard_problems

REFERENCE = (
    "def search(x, xs):\n    lo, hi = 0, len(xs) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n"
)


def request(**overrides):
    base = dict(
        assignment_key="cs1/search",
        statement="Write `search(x, xs)`.",
        visible_tests=["small: search(1, (1,))"],
        show_hidden_details=False,
        files={"solution.py": "def search(x, xs):\n    return xs.index(x)\n"},
        failing=[
            FailingTest(
                "missing",
                True,
                "error",
                "search(4, (1, 3))",
                None,
                None,
                {"type": "ValueError", "message": "4 is not in tuple", "line": 2},
            ),
            FailingTest("secret", False, "failed", "search(99, SECRET_INPUT)", "SECRET_EXPECTED", "3"),
        ],
        reference_files={"solution.py": REFERENCE},
    )
    return HintRequest(**{**base, **overrides})


def test_the_shared_part_comes_first_and_is_identical_for_every_student():
    alice = build_messages(request())
    bob = build_messages(request(files={"solution.py": "def search(x, xs):\n    return -1\n"}, attempt=3))
    assert alice[0] == bob[0]  # system prompt + assignment context, byte for byte
    assert alice[1] != bob[1]
    assert "return xs.index(x)" not in alice[0]["content"]


def test_it_never_puts_the_reference_solution_or_hidden_details_in_the_prompt():
    text = "".join(m["content"] for m in build_messages(request()))
    assert "mid = (lo + hi)" not in text
    assert "SECRET_INPUT" not in text and "SECRET_EXPECTED" not in text and "“secret” (hidden)" in text
    shown = "".join(m["content"] for m in build_messages(request(show_hidden_details=True)))
    assert "SECRET_INPUT" in shown


def test_the_history_changes_the_prompt():
    first = build_messages(request())[1]["content"]
    later = build_messages(
        request(
            attempt=2,
            previous_files={"solution.py": "def search(x, xs):\n    pass\n"},
            previous_hints=["Check what happens when x is missing."],
        )
    )[1]["content"]
    assert "This is the first attempt." in first and "Level 1" in first
    assert "-    pass" in later and "+    return xs.index(x)" in later
    assert "Check what happens when x is missing." in later and "Level 2" in later
    assert "Level 3" in build_messages(request(attempt=7))[1]["content"]


def test_the_prompt_carries_the_end_of_a_visible_tests_traceback():
    failing = [
        FailingTest(
            "boom",
            True,
            "error",
            "search(1, ())",
            None,
            None,
            {
                "type": "IndexError",
                "message": "tuple index out of range",
                "line": 3,
                "traceback": 'Traceback (most recent call last):\n  File "solution.py", line 3\nIndexError',
            },
        )
    ]
    text = build_messages(request(failing=failing))[1]["content"]
    assert 'File "solution.py", line 3' in text and "raised IndexError at line 3" in text


def answer(text, line=None):
    return HintAnswer(summary=text, hints=[HintItem(text=text, line=line)], concept="bounds", confidence=0.5)


GOOD = (
    "Your function raises ValueError when the value is missing. Look at what index() does in that case, "
    "and think about what the assignment asks you to return instead."
)


@pytest.mark.parametrize(
    "text, problem",
    [
        (GOOD, None),
        (
            "The fix: lo, hi = 0, len(xs) - 1 while lo <= hi: mid = (lo + hi) // 2 then compare xs[mid] with x each time.",
            "reproduces the reference solution",
        ),
        (
            "Try this code:\ndef search(x, xs):\n    for i in range(len(xs)):\n        if xs[i] == x:\n"
            "            return i\n    return -1\nThat is all you need to change here.",
            "contains too much code",
        ),
        ("Check it.", "outside 15-260"),
    ],
)
def test_the_guard_rejects_solutions_code_and_bad_lengths(text, problem):
    problems = guard_problems(answer(text), {"solution.py": REFERENCE})
    assert (problem is None and problems == []) or any(problem in p for p in problems)
