"""Bulk regrades: queued on the low-priority queue, overrides kept, progress visible."""

import pytest
from django.db.models import Q
from django.urls import reverse

from feedback.models import RequestStatus
from grading import run
from grading.models import RegradeRun, Status, Submission
from grading.staff import ActionRejected, do_override_score, do_regrade_assignment, do_regrade_submission
from tests.conftest import CORRECT


def test_regrading_a_deleted_assignment_is_refused(db, people):
    with pytest.raises(ActionRejected, match="no longer exists"):
        do_regrade_assignment(987654, people["instructor"])
    assert not RegradeRun.objects.exists()


def test_only_instructors_may_regrade(client, db, people, assignment):
    client.force_login(people["ta"])
    assert client.post(reverse("regrade", args=["cs1", "add"])).status_code == 404
    assert not RegradeRun.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.docker
@pytest.mark.worker
def test_it_regrades_after_the_tests_change(client, people, assignment, celery_worker, wait_for):
    client.force_login(people["alice"])
    client.post(reverse("submit", args=["cs1", "add"]), {"code": CORRECT})
    submission = Submission.objects.get()
    assert wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.GRADED, 60)
    do_override_score(submission, "2", "copied from a classmate", people["instructor"])

    hidden = assignment.tests.get(name="big")
    hidden.spec = {"expr": "add(10, 20)", "expected": "31"}  # the instructor "fixes" the test
    hidden.save()
    client.force_login(people["instructor"])
    response = client.post(reverse("regrade", args=["cs1", "add"]), follow=True)
    assert "Regrading 1 submissions." in response.content.decode()

    assert wait_for(lambda: Submission.objects.get(pk=submission.pk).status == Status.GRADED, 60)
    submission.refresh_from_db()
    assert submission.score == 2 and submission.override_score == 2  # the override stays
    assert [e.detail for e in submission.events.filter(status=Status.QUEUED)] == ["submitted", "regrade"]
    assert RegradeRun.objects.get().progress() == (1, 1)
    page = client.get(reverse("assignment_submissions", args=["cs1", "add"])).content.decode()
    assert "1 of 1 done" in page
    busy = Q(feedback_request__status__in=[RequestStatus.PENDING, RequestStatus.IN_PROGRESS])
    assert wait_for(lambda: not Submission.objects.filter(busy).exists(), 60)


@pytest.mark.django_db
def test_staff_regrade_one_submission_and_students_cannot(client, people, assignment):
    from django.urls import reverse

    from feedback.models import Feedback
    from grading.models import Status, Submission

    submission = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={},
        status=Status.GRADED,
        score=1,
        raw_score=1,
    )
    Feedback.objects.create(submission=submission, hint="old", source="fallback")
    url = reverse("regrade_one", args=[submission.pk])
    client.force_login(people["alice"])
    assert client.post(url).status_code == 404
    client.force_login(people["ta"])
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert "Regrade this submission" in page
    client.post(url)
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED and not Feedback.objects.filter(submission=submission).exists()
    response = client.post(url, follow=True)  # already queued: refused, with the reason
    assert "still being graded" in response.content.decode()
    assert submission.events.filter(detail__startswith="regrade by").count() == 1


def test_a_regrade_that_cannot_finish_keeps_the_grade(db, people, assignment, settings):
    """A regrade is a new run with its own retry budget, and if the platform still fails it, the
    attempt keeps the grade it had: it never vanishes from the gradebook."""
    sub = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": CORRECT},
        status=Status.GRADED,
        raw_score=2,
        score=2,
        max_score=3,
        infra_failures=5,
    )
    do_regrade_submission(sub.pk, people["instructor"])
    sub.refresh_from_db()
    assert (sub.status, sub.infra_failures) == (Status.QUEUED, 0)
    counted = Submission.objects.filter(pk=sub.pk).counted().get()
    assert counted.final == 2  # still counts while it waits
    run.mark_not_gradable(sub.pk, "platform down")
    sub.refresh_from_db()
    assert (sub.status, sub.final_score, sub.error_message) == (Status.GRADED, 2, "platform down")
    assert sub.events.last().detail == "regrade could not finish; the previous grade stands"
