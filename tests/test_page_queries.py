"""The hottest pages cost a fixed number of queries: as many with ten attempts (or ten
assignments) as with one, each with results, a hint, rubric scores and staff overrides."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from courses.models import Assignment, RubricItem
from feedback.models import Feedback, FeedbackRequest, RubricScore, Source
from grading.models import ScoreOverride, Status, Submission, TestResult
from tests.conftest import WRONG, login

pytestmark = pytest.mark.django_db


def attempts(student, assignment, n: int, ta) -> Submission:
    """``n`` graded attempts with everything a page shows; returns the last."""
    item = RubricItem.objects.get_or_create(assignment=assignment, name="style", defaults={"max_points": 2})[
        0
    ]
    for number in range(1, n + 1):
        submission = Submission.objects.create(
            assignment=assignment, student=student, attempt=number, files={"solution.py": WRONG},
            status=Status.GRADED, score=1, raw_score=1, max_score=3, graded_at=timezone.now(),
            override_score=2,
        )  # fmt: skip
        for order, test in enumerate(assignment.tests.all()):
            TestResult.objects.create(
                submission=submission, test_case=test, name=test.name, visible=test.visible, order=order,
                outcome="failed", points=1, points_earned=0, expected="3", actual="4",
            )  # fmt: skip
        Feedback.objects.create(
            submission=submission, hint="Look at the sign.", line=2, source=Source.FALLBACK
        )
        FeedbackRequest.objects.create(submission=submission)
        RubricScore.objects.create(submission=submission, item=item, points=1, justification="ok")
        ScoreOverride.objects.create(submission=submission, score=2, reason="by hand", by=ta)
    return submission


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def more_assignments(assignment, n: int) -> None:
    for number in range(n):
        copy = Assignment.objects.get(pk=assignment.pk)
        copy.pk, copy.slug, copy.title = None, f"add-{number}", f"Add {number}"
        copy.save()


def page_url(page: str, submission: Submission) -> str:
    return {
        "assignment": "/courses/cs1/add/",
        "submission": f"/submissions/{submission.pk}/",
        "live": f"/submissions/{submission.pk}/live/",
    }.get(page, page)


@pytest.mark.parametrize("page", ["assignment", "submission", "live"])
def test_a_page_costs_the_same_with_one_attempt_or_ten(client, people, assignment, page):
    one = attempts(people["alice"], assignment, 1, people["ta"])
    first = count(login(client, people["alice"]), page_url(page, one))
    ten = attempts(people["bob"], assignment, 10, people["ta"])
    assert count(login(client, people["bob"]), page_url(page, ten)) == first


def test_the_dashboard_costs_the_same_with_one_assignment_or_ten(client, people, assignment):
    attempts(people["alice"], assignment, 1, people["ta"])
    first = count(login(client, people["alice"]), "/")
    more_assignments(assignment, 9)
    attempts(people["bob"], assignment, 10, people["ta"])
    for other in Assignment.objects.exclude(pk=assignment.pk):
        attempts(people["bob"], other, 1, people["ta"])
    assert count(login(client, people["bob"]), "/") == first


def test_staff_see_a_submission_for_the_same_cost_whatever_its_history(client, people, assignment):
    one = attempts(people["alice"], assignment, 1, people["ta"])
    ten = attempts(people["bob"], assignment, 10, people["ta"])
    login(client, people["ta"])
    assert count(client, f"/submissions/{one.pk}/") == count(client, f"/submissions/{ten.pk}/")


@pytest.mark.parametrize(
    "url, most",
    [("/", 7), ("assignment", 10), ("submission", 7), ("live", 7)],
)
def test_pages_make_no_more_queries_than_they_need(client, people, assignment, url, most):
    latest = attempts(people["alice"], assignment, 3, people["ta"])
    assert count(login(client, people["alice"]), page_url(url, latest)) <= most
