"""Code Python cannot read: one banner instead of an error per test, no container run, and (by
default) no attempt charged and no grade counted; what reading the code finds leads the hint,
for hidden failures too, since it depends on no test."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from courses import demo
from courses.models import Assignment
from feedback import dispatcher
from feedback.models import Feedback, FeedbackRequest, Source
from grading import run as grading
from grading.models import NOT_AN_ATTEMPT, Status, Submission
from grading.run import GradeOutcome
from grading.services import SubmissionRejected, check_attempt_rules
from grading.staff import ActionRejected, do_override_score
from tests.conftest import CORRECT
from webhooks.services import graded_payload

pytestmark = pytest.mark.django_db
BROKEN = "def add(a, b)\n    return a + b\n"


def _graded(assignment, student, code, attempt):
    submission = Submission.objects.create(
        assignment=assignment, student=student, attempt=attempt, files={"solution.py": code}
    )
    assert grading.grade(submission.pk) is GradeOutcome.GRADED
    submission.refresh_from_db()
    return submission


def test_a_syntax_error_is_one_verdict_without_a_container(people, assignment, settings):
    settings.SANDBOX_IMAGE = "no-such-image:never"  # a container run would be a platform failure
    submission = _graded(assignment, people["alice"], BROKEN, 1)
    assert submission.status == Status.GRADED and submission.does_not_run
    assert submission.score == 0 and submission.max_score == 3 and not submission.results.exists()
    [finding] = submission.findings
    assert finding["kind"] == "syntax" and finding["line"] == 1


def test_it_costs_no_attempt_and_no_grade_unless_the_assignment_says_so(people, assignment, sandbox_image):
    assignment.attempt_limit = 1
    assignment.save()
    good = _graded(assignment, people["alice"], CORRECT, 1)
    broken = _graded(assignment, people["alice"], BROKEN, 2)
    mine = Submission.objects.filter(assignment=assignment, student=people["alice"])
    assert list(mine.charged()) == [good]
    assert [s.costs_an_attempt for s in (good, broken)] == [True, False]  # the page's twin agrees
    assert mine.counted().get().pk == good.pk  # the broken later attempt does not replace the grade
    assignment.count_broken_attempts = True
    assignment.save()
    assert set(mine.charged()) == {good, broken}
    broken.refresh_from_db()
    assert broken.costs_an_attempt
    assert mine.counted().get().pk == broken.pk
    with pytest.raises(SubmissionRejected, match="used all 1 attempts"):
        check_attempt_rules(assignment, mine, timezone.now())


def test_the_page_shows_one_banner_and_the_hint_points_at_the_line(client, people, assignment, llm):
    assignment.llm_hints = False
    assignment.save()
    submission = _graded(assignment, people["alice"], BROKEN, 1)
    request = FeedbackRequest.objects.get(submission=submission)
    dispatcher.dispatch_once()
    request.refresh_from_db()
    hint = Feedback.objects.get(submission=submission)
    assert (
        hint.source == Source.FALLBACK
        and hint.line == 1
        and "Python cannot read solution.py line 1" in hint.hint
    )
    client.force_login(people["alice"])
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert page.count("Your code does not run") == 1 and "does not count as an attempt" in page
    assert "Tests not run: 3" in page and '<table class="results">' not in page
    assert "Automatic hint" in page


def test_code_that_does_not_run_shows_no_score_where_it_does_not_count(client, people, assignment):
    # Its stored 0 is never the grade (counted() passes it over): no page may show it as a score.
    submission = _graded(assignment, people["alice"], BROKEN, 1)
    pages = {
        "submission": ("alice", reverse("submission", args=[submission.pk])),
        "assignment": ("alice", reverse("assignment", args=["cs1", "add"])),
        "submissions": ("instructor", reverse("assignment_submissions", args=["cs1", "add"])),
    }
    for name, (who, url) in pages.items():
        client.force_login(people[who])
        assert not _shows_a_zero(client.get(url).content.decode()), name
    client.force_login(people["alice"])
    page = client.get(pages["submission"][1]).content.decode()
    assert "<span data-score>none</span> (this submission does not count)" in page
    # Where the assignment counts such code, it is an attempt worth 0, shown as such.
    assignment.count_broken_attempts = True
    assignment.save()
    for name, (who, url) in pages.items():
        client.force_login(people[who])
        assert _shows_a_zero(client.get(url).content.decode()), name


@pytest.mark.parametrize("count_broken", [False, True])
def test_the_rule_for_code_that_does_not_run_is_one_rule_in_sql_and_in_python(
    people, assignment, count_broken
):
    # Every status, with and without runnable code, scored, late and overridden or not: the
    # pages' properties and the queries the grade is built from must agree on each.
    Assignment.objects.filter(pk=assignment.pk).update(count_broken_attempts=count_broken)
    attempt = 0
    for status in Status.values:
        for does_not_run in (False, True):
            for override in (None, Decimal("2.50")):
                attempt += 1
                Submission.objects.create(
                    assignment=assignment,
                    student=people["alice"],
                    attempt=attempt,
                    files={},
                    status=status,
                    does_not_run=does_not_run,
                    score=Decimal("0"),
                    raw_score=Decimal("1"),
                    max_score=Decimal("3"),
                    late_penalty_percent=Decimal("10"),
                    override_score=override,
                )
    mine = Submission.objects.filter(student=people["alice"])
    rows = list(mine.select_related("assignment"))
    assert set(mine.filter(NOT_AN_ATTEMPT)) == {s for s in rows if s.not_an_attempt}
    assert set(mine.charged()) == {s for s in rows if s.costs_an_attempt}
    finals = dict(mine.with_final_score().values_list("pk", "final"))
    assert finals == {s.pk: s.final_score for s in rows}
    assert all(s.final_score is None for s in rows if s.not_an_attempt)
    assert mine.counted().get().not_an_attempt is False


def test_code_that_does_not_run_has_no_score_in_the_api_or_webhooks_and_none_to_override(
    client, people, assignment
):
    submission = _graded(assignment, people["alice"], BROKEN, 1)
    client.force_login(people["alice"])
    answer = client.get(f"/api/v1/submissions/{submission.pk}/").json()
    assert answer["does_not_run"] is True and answer["final_score"] is None
    assert graded_payload(submission)["submission"]["final_score"] is None
    with pytest.raises(ActionRejected, match="no score to override"):
        do_override_score(submission, "3", "it nearly runs", people["instructor"])
    client.force_login(people["instructor"])
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert "Override the score" not in page
    # Counted, it is an attempt worth 0, overridable like any other.
    Assignment.objects.filter(pk=assignment.pk).update(count_broken_attempts=True)
    submission.refresh_from_db()
    assert client.get(f"/api/v1/submissions/{submission.pk}/").json()["final_score"] == "0.00"
    do_override_score(submission, "1", "it nearly runs", people["instructor"])


def _shows_a_zero(page: str) -> bool:
    return "0.00 / 3.00" in page or "<span data-score>0.00</span> / 3.00" in page


@pytest.mark.docker
def test_input_at_import_is_explained_for_hidden_tests_too(client, people, sandbox_image):
    """The demo's FizzBuzz with the old starter code: every pytest test (hidden) fails before it
    runs. The student is told why, from their code alone."""
    demo.seed()
    fizz = Assignment.objects.get(course__code="cs101", slug="fizzbuzz")
    alice = demo_user("alice")
    submission = _graded(fizz, alice, "n = int(input())\nfor i in range(1, n + 1):\n    print(i)\n", 1)
    assert not submission.does_not_run
    assert [f["kind"] for f in submission.findings] == ["input_at_import", "missing_function"]
    client.force_login(alice)
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert "reads input at line 1 as soon as it is imported" in page
    assert "What reading your code found (above) may explain it" in page  # on the hidden rows


def test_the_demo_fizzbuzz_starter_is_importable_by_its_tests():
    from grading.static_checks import check, interface_of

    interface = interface_of(demo.FIZZ_REFERENCE, demo.FIZZ_STATEMENT, imports_module=True)
    assert check({"solution.py": demo.FIZZ_STARTER}, "solution.py", interface) == []


def demo_user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username=name)


def test_the_authoring_form_sets_whether_such_code_counts(client, people, assignment):
    client.force_login(people["instructor"])
    url = reverse("assignment_edit", args=[assignment.course.code, assignment.slug])
    page = client.get(url)
    assert "Code that does not run counts as an attempt" in page.content.decode()
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, dict | list | bool)}
    data.update(count_broken_attempts="on", llm_hints="on")
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    assignment.refresh_from_db()
    assert assignment.count_broken_attempts
