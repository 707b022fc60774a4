"""Rubric grades from the model wait for a person's approval (unless the assignment says not to)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from courses.models import RubricItem
from feedback import dispatcher
from feedback.llm import HintAnswer, HintItem, RubricEntry, RubricSpec, rubric_scores
from feedback.models import FeedbackRequest, RequestStatus, RubricScore, RubricStatus
from feedback.services import do_decide_rubric
from grading.models import Submission
from grading.signals import ScoreEvent
from webhooks.models import Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def rubric(assignment):
    return [
        RubricItem.objects.create(
            assignment=assignment, name="Readability", description="Clear names.", max_points=2, order=0
        ),
        RubricItem.objects.create(
            assignment=assignment,
            name="Use of functions",
            description="Small functions.",
            max_points=1,
            order=1,
        ),
    ]


def test_proposed_rubric_scores_wait_for_approval(llm, failing, rubric, client, people):
    request = failing("alice")
    dispatcher.dispatch_once()
    submission = Submission.objects.get(pk=request.submission_id)
    scores = {s.item.name: s for s in submission.rubric_scores.all()}
    assert {n: (s.points, s.status) for n, s in scores.items()} == {
        "Readability": (Decimal("1.00"), RubricStatus.PENDING),
        "Use of functions": (Decimal("0.50"), RubricStatus.PENDING),
    }
    assert submission.final_score == 2  # nothing counts yet

    client.force_login(people["alice"])
    page = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert "Waiting for your instructor" in page and "Approve" not in page
    assert (
        client.post(
            reverse("decide_rubric", args=[submission.pk, scores["Readability"].pk]), {"decision": "approve"}
        ).status_code
        == 404
    )  # students cannot approve

    client.force_login(people["instructor"])
    client.post(
        reverse("decide_rubric", args=[submission.pk, scores["Readability"].pk]), {"decision": "approve"}
    )
    client.post(
        reverse("decide_rubric", args=[submission.pk, scores["Use of functions"].pk]), {"decision": "reject"}
    )
    submission.refresh_from_db()
    assert submission.rubric_points == 1 and submission.final_score == 3
    approved = RubricScore.objects.get(item__name="Readability")
    assert approved.decided_by == people["instructor"] and approved.decided_at


def test_auto_approved_rubric_scores_count_at_once(llm, failing, rubric, assignment):
    assignment.rubric_auto_approve = True
    assignment.save()
    request = failing("alice")
    dispatcher.dispatch_once()
    submission = Submission.objects.get(pk=request.submission_id)
    assert submission.rubric_points == Decimal("1.50") and submission.final_score == Decimal("3.50")


def test_rubric_points_are_clipped_and_unknown_items_dropped():
    answer = HintAnswer(
        summary="s" * 20,
        hints=[HintItem(text="t")],
        concept="c",
        confidence=0.5,
        rubric=[
            RubricEntry(item="Readability", points=9, justification="great"),
            RubricEntry(item="Made up", points=1, justification="?"),
        ],
    )
    assert rubric_scores(answer, [RubricSpec("Readability", "", 2.0)]) == {"Readability": (2.0, "great")}


def test_auto_approved_points_are_announced_and_dated(llm, failing, rubric, assignment, course):
    """Rubric points change the grade: receivers (webhooks, LMS links) hear of it, and the API's
    updated_since sees the change."""
    Webhook.objects.create(course=course, url="https://93.184.216.34/hook")
    assignment.rubric_auto_approve = True
    assignment.save()
    request = failing("alice")
    dispatcher.dispatch_once()
    assert WebhookDelivery.objects.filter(
        submission=request.submission, event=ScoreEvent.RUBRIC_DECIDED
    ).exists()
    assert not RubricScore.objects.filter(submission=request.submission, decided_at__isnull=True).exists()


def test_a_persons_decision_survives_a_later_hint(llm, failing, rubric, people):
    request = failing("alice")
    dispatcher.dispatch_once()
    score = RubricScore.objects.get(submission=request.submission, item__name="Readability")
    do_decide_rubric(score, False, people["ta"])
    FeedbackRequest.objects.filter(pk=request.pk).update(status=RequestStatus.PENDING)
    dispatcher.dispatch_once()  # a new hint proposes the same item again
    score.refresh_from_db()
    assert score.status == RubricStatus.REJECTED and score.decided_by == people["ta"]
