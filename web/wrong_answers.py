"""What the class gets wrong: per test, the most common wrong answers among the students' latest
graded attempts (one per student), while the deadline is still open.

- Visible tests: the wrong *values* (``TestResult.actual`` of failed results: an expression's
  value, or what a stdin/stdout program printed), shortened for display, and the kinds of the
  other failures.
- Hidden tests: only *kinds* (the outcome and, for an error, a standard exception name:
  ``grading.disclosure.class_safe_kind``), never a value, although staff could see them: the
  panel is meant to be safe to project in class. Values of hidden tests are not even read from
  the database.

The most common TOP answers per test come first (ties: by label, then key), the rest is one
"other" entry. Each answer has a stable key that the staff submissions page filters on
(``?test=<id>&answer=<key>``, computed by this same function). Two queries whatever the class
size: the tests, and one aggregate over the latest attempts' results grouped by test and answer.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from django.contrib.postgres.aggregates import ArrayAgg
from django.db.models import BooleanField, Case, Count, ExpressionWrapper, F, Max, Min, Q, TextField, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import MD5, Left, Length

from grading.disclosure import class_safe_kind
from grading.models import Outcome, TestResult
from web.analytics import students_work

TOP = 5
SHOWN_CHARS = 60  # of a value, on the page and in the chart's table
OTHER = "other"
ANSWER_KEY = re.compile(r"[0-9a-f]{12}|other")
TEST_ID = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class Answer:
    key: str  # stable and opaque: the submissions page filters on it
    label: str  # a visible test's wrong value (shortened), or a kind of failure
    is_value: bool
    students: int
    submission_ids: tuple[int, ...]  # the students' latest attempts with this answer


@dataclass
class TestAnswers:
    __test__ = False  # not a pytest test class
    test_id: int
    name: str
    visible: bool  # as the test is now (a result graded while it was hidden shows kinds only)
    attempts: int = 0  # latest attempts with a result for this test
    wrong: int = 0  # of which did not pass
    answers: list[Answer] = field(default_factory=list)  # TOP most common, then "other"

    def answer(self, key: str) -> Answer | None:
        return next((a for a in self.answers if a.key == key), None)


NOTHING = "Printed nothing"  # an empty value: a program's output (expressions give a repr)


def shown_value(start: str, length: int) -> str:
    """A value for display: line breaks made visible, cut to SHOWN_CHARS characters."""
    text = start[:SHOWN_CHARS].replace("\r\n", "↵").replace("\n", "↵").replace("\r", "␍")
    return text + ("…" if length > SHOWN_CHARS else "")


def _key(kind: str, ident: str) -> str:
    return hashlib.sha256(f"{kind}\0{ident}".encode()).hexdigest()[:12]


def _label(outcome: str) -> str:
    return Outcome(outcome).label if outcome in Outcome.values else outcome


def wrong_answers(assignment, test_id: int | None = None, top: int = TOP) -> list[TestAnswers]:
    """Per test of ``assignment`` (or only ``test_id``), in the tests' order: how many students'
    latest graded attempts have a result for it, how many of them do not pass, and the most
    common wrong answers with the students who gave them."""
    tests = assignment.tests.order_by("order", "pk")
    if test_id is not None:
        tests = tests.filter(pk=test_id)
    found = {
        pk: TestAnswers(pk, name, visible) for pk, name, visible in tests.values_list("pk", "name", "visible")
    }
    if not found:
        return []
    latest = students_work(assignment).latest_graded().values("pk")
    # A value only where both the test now and the result's snapshot are visible.
    value = Case(
        When(
            Q(outcome=Outcome.FAILED, visible=True, test_case__visible=True, actual__isnull=False),
            then=F("actual"),
        ),
        output_field=TextField(),
    )
    error_type = Case(
        When(outcome=Outcome.ERROR, then=KeyTextTransform("type", "error")), output_field=TextField()
    )
    rows = (
        TestResult.objects.filter(submission__in=latest, test_case__in=list(found))
        .annotate(
            shown=value,
            error_type=error_type,
            shown_to_all=ExpressionWrapper(Q(visible=True, test_case__visible=True), BooleanField()),
        )
        .values("test_case_id", "outcome", "error_type", "shown_to_all", digest=MD5("shown"))
        .annotate(
            students=Count("id"),  # one result per (submission, test): one per student
            start=Min(Left("shown", SHOWN_CHARS + 1)),
            length=Max(Length("shown")),
            ids=ArrayAgg("submission_id", filter=~Q(outcome=Outcome.PASSED), order_by="submission_id"),
        )
        .order_by()
    )
    buckets: dict[int, dict[str, Answer]] = {pk: {} for pk in found}
    for row in rows:
        test = found[row["test_case_id"]]
        test.attempts += row["students"]
        if row["outcome"] == Outcome.PASSED:
            continue
        test.wrong += row["students"]
        if row["digest"] is not None:  # a visible test's wrong value
            key, is_value = _key("value", row["digest"]), bool(row["length"])
            label = shown_value(row["start"], row["length"]) if is_value else NOTHING
        else:
            label = class_safe_kind(_label(row["outcome"]), row["error_type"], row["shown_to_all"])
            key, is_value = _key("kind", label), False
        same = buckets[test.test_id].get(key)  # e.g. two custom exceptions of a hidden test
        ids = tuple(row["ids"] or ())
        buckets[test.test_id][key] = Answer(
            key,
            label,
            is_value,
            row["students"] + (same.students if same else 0),
            tuple(sorted(ids + (same.submission_ids if same else ()))),
        )
    for pk, test in found.items():
        ranked = sorted(buckets[pk].values(), key=lambda a: (-a.students, a.label, a.key))
        test.answers = ranked[:top]
        rest = ranked[top:]
        if rest:
            test.answers.append(
                Answer(
                    OTHER,
                    f"{len(rest)} other answer{'s' if len(rest) > 1 else ''}",
                    False,
                    sum(a.students for a in rest),
                    tuple(sorted(i for a in rest for i in a.submission_ids)),
                )
            )
    return list(found.values())


def answer_filter(assignment, test: str, answer: str) -> tuple[TestAnswers, Answer | None]:
    """The test and answer that the submissions page's ``?test=<id>&answer=<key>`` name (as the
    analytics page links them), with its students' latest attempts; the answer is None when no
    latest attempt gives it any more. ValueError, with a message for staff, for values that do
    not name a test of this assignment or an answer key."""
    if not test or not answer:
        raise ValueError("Filtering by answer needs both a test and an answer (links on the analytics page).")
    if not TEST_ID.fullmatch(test):
        raise ValueError(f"“{test[:40]}” is not a test of this assignment: the answer filter was ignored.")
    if not ANSWER_KEY.fullmatch(answer):
        raise ValueError(
            f"“{answer[:40]}” is not an answer key from the analytics page: the answer filter was ignored."
        )
    found = wrong_answers(assignment, test_id=int(test))
    if not found:
        raise ValueError(f"“{test}” is not a test of this assignment: the answer filter was ignored.")
    return found[0], found[0].answer(answer)
