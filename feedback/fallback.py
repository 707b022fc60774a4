"""Deterministic hints built from the test results alone.

Used when no model is configured or the model server is unavailable. They are
labelled as automatic in the UI. They are built from what the student may see
(grading.disclosure): of a hidden test, only its name and outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

PRIORITY = {"error": 0, "crashed": 1, "memory": 2, "timeout": 3, "failed": 4}


@dataclass(frozen=True)
class Hint:
    text: str
    line: int | None
    concept: str


def _first_failure(results: list[dict]) -> dict | None:
    failing = [r for r in results if r["outcome"] != "passed"]
    # Prefer a visible test (the student can inspect it), then the most informative outcome.
    failing.sort(key=lambda r: (not r["visible"], PRIORITY.get(r["outcome"], 9)))
    return failing[0] if failing else None


# What reading the code found (grading.static_checks), most fundamental first: each explains
# failures without any test's data, so it leads the hint whenever it applies.
FINDING_ORDER = (
    "syntax",
    "input_at_import",
    "missing_function",
    "wrong_arity",
    "undefined_name",
    "prints_not_returns",
)
FINDING_CONCEPT = {
    "syntax": "syntax error",
    "input_at_import": "reading input at import",
    "missing_function": "function name",
    "wrong_arity": "function parameters",
    "undefined_name": "undefined name",
    "prints_not_returns": "return versus print",
}


def from_findings(findings: list[dict], main_file: str | None) -> Hint | None:
    ranked = sorted(
        (f for f in findings if f.get("kind") in FINDING_ORDER), key=lambda f: FINDING_ORDER.index(f["kind"])
    )
    if not ranked:
        return None
    first = ranked[0]
    line = first.get("line") if main_file is None or first.get("file") == main_file else None
    text = first["message"]
    if first["kind"] == "syntax":
        text += (
            " Look at that line and the one before it: a missing colon, bracket or quote is the usual cause."
        )
    return Hint(text, line, FINDING_CONCEPT[first["kind"]])


def build_hint(
    results: list[dict], main_file: str | None = None, findings: list[dict] | None = None
) -> Hint | None:
    """Return a hint for the most useful failing test, or None if everything passed.

    ``results`` must already be what the student may see (grading.disclosure.students_view):
    a hidden test then carries its name and outcome only, so nothing here can repeat what
    the code produced during it. A line is kept only when it is in ``main_file``. What reading
    the code found (``findings``, from grading.static_checks) comes first: it depends on no test.
    """
    result = _first_failure(results)
    if result is None and not any(f.get("kind") == "syntax" for f in findings or []):
        return None
    hint = from_findings(findings or [], main_file)
    if hint is None and result is not None:
        hint = _from_result(result, results, main_file)
    if hint is None:
        return None
    # A timeout elsewhere is easy to miss behind another failure: say it (names and outcomes only).
    slow = [r["name"] for r in results if r["outcome"] == "timeout" and r is not result]
    if slow and (
        result is None or result["outcome"] != "timeout" or hint.concept != "infinite loop or slow algorithm"
    ):
        also = f"“{slow[0]}”" + (f" and {len(slow) - 1} more" if len(slow) > 1 else "")
        hint = Hint(
            hint.text
            + f" Also, {also} ran out of time: look for a loop whose condition may never become false.",
            hint.line,
            hint.concept,
        )
    return hint


def _from_result(result: dict, results: list[dict], main_file: str | None) -> Hint | None:
    name, outcome, error = result["name"], result["outcome"], result.get("error") or {}
    in_main = main_file is None or error.get("file") in (None, main_file)
    line = error.get("line") if in_main else None
    where = f" at line {line}" if line else ""
    label = "Test" if result["visible"] else "Hidden test"
    if outcome in ("error", "crashed") and error.get("type"):
        text = (
            f"{label} “{name}”: your code raised {error['type']}{where}. Read the message "
            f"(“{error.get('message', '')[:200]}”) and check which values reach that line; print them "
            f"or trace the code by hand for this test."
        )
        return Hint(text, line, f"runtime error: {error['type']}")
    if outcome == "error":
        return Hint(
            f"{label} “{name}” ends with an error in your code. Think about which inputs could lead "
            "there (empty, negative, very large, duplicates) and make sure your code handles them.",
            None,
            "runtime error",
        )
    if outcome == "timeout":
        return Hint(
            f"{label} “{name}” ran out of time. Look for a loop whose condition may never become false, "
            "or for work repeated many times that could be done once.",
            None,
            "infinite loop or slow algorithm",
        )
    if outcome == "memory":
        return Hint(
            f"{label} “{name}” ran out of memory. Check for a list or string that keeps growing, "
            "or for recursion that never stops.",
            None,
            "memory use",
        )
    if outcome == "crashed":
        why = f" ({result['message']})" if result.get("message") else ""
        return Hint(
            f"{label} “{name}”: your program stopped before giving an answer{why}. "
            "Make sure the code does not exit early.",
            None,
            "program exits early",
        )
    if result.get("actual") == "None" and result.get("expected") not in (None, "None"):
        return Hint(
            f"Test “{name}”: your function gave back None. Does every path through it end with a "
            "`return` of the value? A function that only prints, or forgets `return`, returns None.",
            None,
            "missing return",
        )
    if result["visible"] and result.get("expected") is not None:
        text = (
            f"Test “{name}” expected {_clip(result['expected'])} but your code gave "
            f"{_clip(result.get('actual'))}. Run your code on that input and follow it step by step."
        )
        return Hint(text, None, "wrong result")
    visible = [r for r in results if r["visible"]]
    passes_visible = bool(visible) and all(r["outcome"] == "passed" for r in visible)
    lead = "Your code passes the cases you can see, so think" if passes_visible else "Think"
    return Hint(
        f"{label} “{name}” gives a wrong result. {lead} about edge cases: empty input, one element, "
        "negatives, duplicates, boundaries.",
        None,
        "edge cases",
    )


def _clip(value, limit: int = 200) -> str:
    text = "nothing" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
