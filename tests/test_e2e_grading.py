"""The walking skeleton, for real: web form -> PostgreSQL -> Celery worker -> Docker -> page."""

import pytest
from django.db.models import Q
from django.urls import reverse

from feedback.models import Feedback, RequestStatus, Source
from grading.models import Status, Submission
from tests.conftest import CORRECT, WRONG

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.worker]


@pytest.fixture(autouse=True)
def no_work_left_behind(wait_for):
    """Let the worker finish (grading and hints) before the database is flushed for the next test."""
    yield
    busy = Q(status__in=[Status.QUEUED, Status.RUNNING]) | Q(
        feedback_request__status__in=[RequestStatus.PENDING, RequestStatus.IN_PROGRESS]
    )
    assert wait_for(lambda: not Submission.objects.filter(busy).exists(), 60)


def submit_and_wait(client, assignment, code, wait_for):
    url = reverse("submit", args=[assignment.course.code, assignment.slug])
    response = client.post(url, {"code": code})
    assert response.status_code == 302
    submission = Submission.objects.latest("id")
    assert response["Location"] == reverse("submission", args=[submission.pk])
    finished = wait_for(
        lambda: Submission.objects.get(pk=submission.pk).status in (Status.GRADED, Status.ERROR), 120
    )
    assert finished, "the worker did not grade the submission"
    submission.refresh_from_db()
    return submission


def test_it_grades_a_correct_and_a_wrong_solution_end_to_end(
    client, people, assignment, celery_worker, wait_for
):
    client.force_login(people["alice"])

    good = submit_and_wait(client, assignment, CORRECT, wait_for)
    page = client.get(reverse("submission", args=[good.pk])).content.decode()
    assert good.status == Status.GRADED and good.score == 3 and good.max_score == 3
    assert "data-score>3.00</span> / 3.00" in page

    bad = submit_and_wait(client, assignment, WRONG, wait_for)
    assert bad.status == Status.GRADED and bad.score == 2 and bad.attempt == 2
    outcomes = {r.name: r.outcome for r in bad.results.all()}
    assert outcomes == {"small": "passed", "stdin": "passed", "big": "failed"}
    page = client.get(reverse("submission", args=[bad.pk])).content.decode()
    assert "data-score>2.00</span> / 3.00" in page
    assert "Details of hidden tests are not shown." in page
    assert "<pre>add(1, 2)</pre>" in page  # a visible test's input
    assert "add(10, 20)" not in page  # a hidden one's


def test_it_produces_a_labelled_fallback_hint_when_model_hints_are_off(
    client, people, assignment, celery_worker, wait_for
):
    assignment.llm_hints = False
    assignment.save()
    client.force_login(people["bob"])
    bad = submit_and_wait(client, assignment, WRONG, wait_for)
    assert wait_for(lambda: hasattr(Submission.objects.get(pk=bad.pk), "feedback"), 60)
    page = client.get(reverse("submission_live", args=[bad.pk])).content.decode()
    assert "Automatic hint" in page and "not written by the AI model" in page
    assert 'data-done="1"' in page
    assert "30" not in Submission.objects.get(pk=bad.pk).feedback.hint  # the hidden expected value


def test_it_produces_a_model_hint_through_the_dev_server(client, people, assignment, celery_worker, wait_for):
    client.force_login(people["alice"])
    bad = submit_and_wait(client, assignment, WRONG, wait_for)
    assert wait_for(lambda: Feedback.objects.filter(submission=bad, source=Source.LLM).exists(), 60)
    feedback = Feedback.objects.get(submission=bad)
    assert feedback.prompt_tokens > 0 and feedback.model == "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"
    page = client.get(reverse("submission_live", args=[bad.pk])).content.decode()
    assert "Automatic hint" not in page and 'data-done="1"' in page
    assert "hint ready" in page
