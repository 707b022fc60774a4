"""Instructor overrides: a reason is required, the range is checked, every change is audited."""

from decimal import Decimal

import pytest
from django.urls import reverse

from grading.models import ScoreOverride, Status, Submission
from grading.staff import ActionRejected, do_override_score

pytestmark = pytest.mark.django_db


@pytest.fixture
def graded(people, assignment):
    return Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={},
        status=Status.GRADED,
        score=2,
        raw_score=2,
        max_score=3,
    )


@pytest.mark.parametrize(
    "score, reason, message",
    [
        ("3", "", "needs a reason"),
        ("3", "   ", "needs a reason"),
        ("4", "bonus", "between 0 and 3"),
        ("-1", "oops", "between 0 and 3"),
        ("lots", "why", "not a number"),
    ],
)
def test_it_refuses_bad_overrides_and_changes_nothing(graded, people, score, reason, message):
    with pytest.raises(ActionRejected, match=message):
        do_override_score(graded, score, reason, people["instructor"])
    graded.refresh_from_db()
    assert graded.override_score is None and not ScoreOverride.objects.exists()


def test_it_refuses_to_override_an_ungraded_submission(graded, people):
    Submission.objects.filter(pk=graded.pk).update(status=Status.QUEUED)
    with pytest.raises(ActionRejected, match="Only a graded submission"):
        do_override_score(graded, "3", "regraded by hand", people["instructor"])


def test_it_overrides_and_keeps_an_audit_trail(graded, people):
    do_override_score(graded, "3", "the hidden test was wrong", people["instructor"])
    do_override_score(graded, "2.5", "second look", people["ta"])
    graded.refresh_from_db()
    assert graded.final_score == Decimal("2.5") and graded.score == 2
    trail = [(o.previous_score, o.score, o.reason, o.by.username) for o in graded.overrides.all()]
    assert trail == [
        (Decimal("2"), Decimal("3"), "the hidden test was wrong", "instructor"),
        (Decimal("3"), Decimal("2.5"), "second look", "ta"),
    ]


def test_the_override_form_is_for_staff_only(client, graded, people):
    client.force_login(people["alice"])
    response = client.post(reverse("override", args=[graded.pk]), {"score": "3", "reason": "I deserve it"})
    assert response.status_code == 404
    graded.refresh_from_db()
    assert graded.override_score is None


def test_the_override_form_explains_a_missing_reason(client, graded, people):
    client.force_login(people["instructor"])
    response = client.post(reverse("override", args=[graded.pk]), {"score": "3", "reason": ""}, follow=True)
    assert "Score not changed: An override needs a reason" in response.content.decode()
    graded.refresh_from_db()
    assert graded.override_score is None


def test_the_student_sees_that_course_staff_set_the_score_and_why(client, graded, people):
    do_override_score(graded, "3", "the hidden test was wrong", people["ta"])
    client.force_login(people["alice"])
    for url in (reverse("submission", args=[graded.pk]), reverse("submission_live", args=[graded.pk])):
        page = client.get(url).content.decode()
        assert "Score set by course staff" in page and "the hidden test was wrong" in page
        assert "<caption>Overrides</caption>" not in page  # the audit trail (who, from what) is staff's
    page = client.get(reverse("assignment", args=["cs1", "add"])).content.decode()
    assert "<strong>3.00 / 3.00</strong> from" in page  # the score that counts, on the assignment page
    assert "Score set by course staff" in page and "the hidden test was wrong" in page


def test_the_latest_reason_is_the_one_shown(client, graded, people):
    do_override_score(graded, "3", "first look", people["instructor"])
    do_override_score(graded, "2.5", "second look", people["instructor"])
    client.force_login(people["alice"])
    page = client.get(reverse("assignment", args=["cs1", "add"])).content.decode()
    assert "second look" in page and "first look" not in page


def test_an_attempt_without_an_override_says_nothing_of_staff(client, graded, people):
    client.force_login(people["alice"])
    page = client.get(reverse("submission", args=[graded.pk])).content.decode()
    assert "set by course staff" not in page.lower()


def test_an_overridden_attempt_that_does_not_count_still_shows_why(client, graded, people):
    do_override_score(graded, "3", "partial credit for the idea", people["instructor"])
    Submission.objects.create(
        assignment=graded.assignment,
        student=people["alice"],
        attempt=2,
        files={},
        status=Status.GRADED,
        score=1,
        raw_score=1,
        max_score=3,
    )
    client.force_login(people["alice"])
    page = client.get(reverse("assignment", args=["cs1", "add"])).content.decode()
    assert "from attempt 2" in page and "partial credit for the idea" in page
    assert "Score set by course staff" not in page  # the counted attempt's score is the tests'


def test_a_refused_override_keeps_what_was_typed(client, graded, people):
    client.force_login(people["instructor"])
    response = client.post(
        reverse("override", args=[graded.pk]), {"score": "7", "reason": "regraded by hand"}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "Score not changed: The score must be between 0 and 3" in page
    assert 'value="7"' in page and 'value="regraded by hand"' in page
    graded.refresh_from_db()
    assert graded.override_score is None
