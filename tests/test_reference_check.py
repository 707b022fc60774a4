"""Instructors check their tests against the reference solution before publishing."""

import pytest
from django.urls import reverse

from courses.models import Assignment
from grading import staff
from grading.models import TrialRun, TrialStatus

pytestmark = pytest.mark.django_db


def _check(client, wait_for):
    """Ask for a check; it runs on the grading queue (a real worker); follow its page."""
    response = client.post(reverse("reference_check", args=["cs1", "add"]))
    assert response.status_code == 302, response.content[:300]
    page = response["Location"]
    assert wait_for(lambda: "refreshes itself" not in client.get(page).content.decode(), 120)
    return client.get(page).content.decode()


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_it_runs_on_the_grading_queue_and_shows_the_tests_the_reference_fails(
    client, people, assignment, celery_worker, wait_for
):
    client.force_login(people["ta"])
    html = _check(client, wait_for)
    assert "All 3 tests pass with the reference solution" in html
    assert "Outcome." not in html and "Passed" in html
    hidden = assignment.tests.get(name="big")
    hidden.spec = {"expr": "add(10, 20)", "expected": "31"}
    hidden.save()
    html = _check(client, wait_for)
    assert "1 test fails with the reference solution" in html and "31" in html
    trials = TrialRun.objects.filter(assignment=assignment).order_by("pk")
    assert [(t.status, t.passed, t.total) for t in trials] == [
        (TrialStatus.DONE, 3, 3),
        (TrialStatus.DONE, 2, 3),
    ]


def test_the_page_shows_progress_until_a_worker_takes_it(
    client, people, assignment, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(staff, "enqueue_trial", lambda pk, priority=0: sent.append(pk))
    client.force_login(people["instructor"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reference_check", args=["cs1", "add"]), follow=True)
    with_progress = response.content.decode()
    assert "Waiting for a grading worker" in with_progress and 'http-equiv="refresh"' in with_progress
    assert sent == [TrialRun.objects.get().pk]


def test_it_explains_when_there_is_nothing_to_check(client, people, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(reference_files={})
    client.force_login(people["instructor"])
    response = client.post(reverse("reference_check", args=["cs1", "add"]), follow=True)
    assert "Add a reference solution first." in response.content.decode()


def test_students_cannot_check_or_publish(client, people, assignment):
    client.force_login(people["alice"])
    assert client.post(reverse("reference_check", args=["cs1", "add"])).status_code == 404
    assert client.post(reverse("publish", args=["cs1", "add"]), {"published": "0"}).status_code == 404


def test_instructors_publish_and_unpublish(client, people, assignment):
    client.force_login(people["ta"])
    assert client.post(reverse("publish", args=["cs1", "add"]), {"published": "0"}).status_code == 404
    client.force_login(people["instructor"])
    client.post(reverse("publish", args=["cs1", "add"]), {"published": "0"})
    assignment.refresh_from_db()
    assert not assignment.published
    client.post(reverse("publish", args=["cs1", "add"]), {"published": "1"})
    assignment.refresh_from_db()
    assert assignment.published
