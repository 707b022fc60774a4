"""Grades sent back to the LMS (AGS) over real HTTP: the test LMS (tests/lti_platform.py with
tests/lti_services.py) verifies the tool's client-assertion JWTs against its JWKS, issues
expiring tokens and records the scores it receives; the tool grades with the real Celery
worker and real containers."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from lti_tool.models import LtiUser
from prometheus_client import REGISTRY

from courses.models import RubricItem
from feedback.models import RubricScore
from feedback.services import do_decide_rubric
from grader.celery import app
from grading.models import Status, Submission
from grading.staff import do_override_score, do_regrade_submission
from lti import ags
from lti.models import AssignmentLink
from lti.service_models import GradePassback, PassbackState
from tests.conftest import CORRECT
from tests.lti_platform import AGS_SCOPES, LEARNER, Browser, TestPlatform, link_course_1, registered
from tests.lti_services import LmsServices

DELIVERIES = "grader_grade_passback_deliveries_total"

pytestmark = pytest.mark.django_db(transaction=True)
STUDENT = "lms-student-1"


@pytest.fixture
def lms(live_server, settings):
    """The test LMS with its services; course-1's link-1 opens the ``add`` assignment."""
    settings.LTI_FRAMED_COOKIES = False  # see tests.lti_platform.Browser
    platform = TestPlatform(live_server.url)
    services = LmsServices(platform)
    platform.start()
    registered(platform)
    yield services
    platform.close()


@pytest.fixture
def column(lms, course, assignment):
    """The grade column deep linking made for link-1 (its URL is in the launches' AGS claim)."""
    link_course_1(lms.platform, course, assignment)
    return lms.add_line_item("link-1", label="Add", scoreMaximum=3, resourceLinkId="link-1")


def launched(lms, sub=STUDENT, **launch) -> Browser:
    browser = Browser()
    page = browser.launch(lms.platform, lms.platform.launch(sub, [LEARNER], **launch))
    assert page.url.endswith("/courses/cs1/add/"), page.text[:300]
    return browser


def submit(browser: Browser, live_server, code: str = CORRECT) -> Submission:
    page = browser.csrf_post(live_server.url + reverse("submit", args=["cs1", "add"]), {"code": code})
    assert page.status_code == 200 and "/submissions/" in page.url, page.text[:300]
    return Submission.objects.latest("pk")


def sent(passback_filter=None, **fields):
    """A condition: the (only) passback row was accepted by the LMS with these values."""

    def check():
        row = GradePassback.objects.filter(**(passback_filter or {})).first()
        return (
            row is not None
            and row.state == PassbackState.SENT
            and all(getattr(row, k) == v for k, v in fields.items())
        )

    return check


@pytest.mark.docker
@pytest.mark.worker
def test_a_graded_submission_reaches_the_lms(lms, column, live_server, celery_worker, wait_for):
    browser = launched(lms)
    submission = submit(browser, live_server)
    assert wait_for(sent(sent_score=Decimal("3.00")), 120), GradePassback.objects.values()
    assert Submission.objects.get(pk=submission.pk).status == Status.GRADED
    (score,) = lms.scores_for(STUDENT)
    assert score["lineitem"] == column
    assert (score["scoreGiven"], score["scoreMaximum"]) == (3.0, 3.0)
    assert (score["activityProgress"], score["gradingProgress"]) == ("Submitted", "FullyGraded")
    assert datetime.fromisoformat(score["timestamp"]).tzinfo is not None
    (assertion,) = lms.assertions  # verified by the LMS against the tool's JWKS, over HTTP
    claims = assertion["claims"]
    assert claims["iss"] == claims["sub"] == lms.platform.client_id
    assert claims["aud"] == lms.platform.url + "/token"
    tool_keys = requests.get(live_server.url + "/.well-known/jwks.json", timeout=10).json()["keys"]
    assert assertion["header"]["kid"] in {key["kid"] for key in tool_keys}


@pytest.mark.docker
@pytest.mark.worker
def test_rubric_grades_are_pending_manual_until_approved(
    lms, column, live_server, assignment, people, celery_worker, wait_for
):
    item = RubricItem.objects.create(assignment=assignment, name="style", max_points=2)
    submission = submit(launched(lms), live_server)
    assert wait_for(sent(sent_progress="PendingManual"), 120)
    first = lms.scores_for(STUDENT)[-1]
    assert (first["scoreGiven"], first["scoreMaximum"], first["gradingProgress"]) == (
        3.0,
        5.0,
        "PendingManual",
    )
    proposed = RubricScore.objects.create(
        submission=submission, item=item, points=Decimal("1.5"), justification="ok"
    )
    do_decide_rubric(proposed, approve=True, by=people["instructor"])
    assert wait_for(sent(sent_progress="FullyGraded"), 60)
    kept = lms.kept(column, STUDENT)
    assert (kept["scoreGiven"], kept["gradingProgress"]) == (4.5, "FullyGraded")


@pytest.mark.docker
@pytest.mark.worker
def test_failed_sends_are_retried_and_the_lms_ends_with_the_latest_score(
    lms, column, live_server, people, celery_worker, wait_for
):
    lms.fail("scores", 500, "slow", 500)  # an error, an answer past the tool's timeout, an error
    submission = submit(launched(lms), live_server)
    assert wait_for(lambda: GradePassback.objects.filter(state=PassbackState.RETRYING).exists(), 120)
    do_override_score(Submission.objects.get(pk=submission.pk), "2.5", "partial credit", people["instructor"])
    assert wait_for(sent(sent_score=Decimal("2.50")), 120), GradePassback.objects.values()
    assert lms.kept(column, STUDENT)["scoreGiven"] == 2.5
    assert len([c for c in lms.calls if c[0] == "scores"]) >= 4  # three refused, then taken
    row = GradePassback.objects.get()
    assert (row.attempts, row.last_error) == (0, "")


@pytest.mark.docker
@pytest.mark.worker
def test_a_regrade_sends_the_new_score_and_reuses_the_token(
    lms, column, live_server, assignment, people, celery_worker, wait_for
):
    submission = submit(launched(lms), live_server)
    assert wait_for(sent(sent_score=Decimal("3.00")), 120)
    hidden = assignment.tests.get(name="big")
    hidden.spec = {"expr": "add(10, 20)", "expected": "31"}  # the instructor fixes a test: now it fails
    hidden.save()
    do_regrade_submission(submission.pk, people["instructor"])
    assert wait_for(sent(sent_score=Decimal("2.00")), 120)
    assert [s["scoreGiven"] for s in lms.scores_for(STUDENT)] == [3.0, 2.0]
    assert lms.token_requests == 1  # the cached token served both sends


@pytest.mark.docker
@pytest.mark.worker
def test_an_override_sends_the_override(lms, column, live_server, people, celery_worker, wait_for):
    submission = submit(launched(lms), live_server)
    assert wait_for(sent(sent_score=Decimal("3.00")), 120)
    do_override_score(Submission.objects.get(pk=submission.pk), "1.25", "copied", people["instructor"])
    assert wait_for(sent(sent_score=Decimal("1.25")), 60)
    assert lms.kept(column, STUDENT)["scoreGiven"] == 1.25
    assert lms.token_requests == 1


# --- the service, called directly -----------------------------------------------------------


def graded(assignment, student, score="3") -> Submission:
    return Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=Submission.objects.filter(assignment=assignment, student=student).count() + 1,
        files={"solution.py": CORRECT},
        status=Status.GRADED,
        score=Decimal(score),
        raw_score=Decimal(score),
        max_score=3,
    )


def student_of(lms, sub=STUDENT, **launch):
    launched(lms, sub, **launch)
    return LtiUser.objects.get(sub=sub).auth_user


def test_a_refused_token_is_dropped_and_the_send_tried_once_more(lms, column, assignment):
    student = student_of(lms)
    passback = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    graded(assignment, student)
    assert ags.send_passback(passback.pk) == "sent"
    lms.fail("scores", 401)  # the LMS revoked the token before it expired
    GradePassback.objects.filter(pk=passback.pk).update(state=PassbackState.PENDING)
    assert ags.send_passback(passback.pk) == "sent"
    assert lms.token_requests == 2
    assert [c[0] for c in lms.calls].count("scores") == 3


def test_a_line_item_is_created_once_and_found_again(lms, course, assignment, people):
    link_course_1(lms.platform, course, assignment)
    no_column = {"scope": AGS_SCOPES, "lineitems": f"{lms.platform.url}/course-1/lineitems"}
    first = student_of(lms, "lms-student-a", ags=no_column)
    launched(lms, "lms-student-b", ags=no_column)
    second = LtiUser.objects.get(sub="lms-student-b").auth_user
    for student in (first, second):
        graded(assignment, student)
        row = GradePassback.objects.create(
            link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
        )
        assert ags.send_passback(row.pk) == "sent"
    (made,) = lms.line_items.values()
    assert (made["scoreMaximum"], made["label"], made["resourceLinkId"]) == (3, "Add", "link-1")
    assert AssignmentLink.objects.get().lineitem_url == made["id"]
    AssignmentLink.objects.update(lineitem_url="")  # e.g. a link copied with its course
    graded(assignment, first)
    row = GradePassback.objects.get(student=first)
    GradePassback.objects.filter(pk=row.pk).update(state=PassbackState.PENDING)
    assert ags.send_passback(row.pk) == "sent"
    assert len(lms.line_items) == 1  # found by its resource link id, not made twice
    assert {s["lineitem"] for s in lms.scores} == {made["id"]}


def test_only_students_the_lms_knows_are_sent(lms, column, assignment, people):
    with transaction.atomic():
        assert ags.request_passbacks(graded(assignment, people["alice"])) == []  # no LTI identity
    assert not GradePassback.objects.exists()


def test_staff_see_retrying_and_failed_sends_and_may_send_again(lms, column, assignment, client, people):
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    lms.fail("scores", 500, 500)
    with pytest.raises(ags.PassbackFailed):
        ags.send_passback(row.pk)
    client.force_login(people["ta"])
    assert (
        reverse("lti:course_lms", args=["cs1"])
        in client.get(reverse("course", args=["cs1"])).content.decode()
    )
    page = client.get(reverse("lti:course_lms", args=["cs1"]))
    assert page.status_code == 200
    assert "Failed, retrying" in page.content.decode() and "HTTP 500" in page.content.decode()
    assert ags.send_passback(row.pk, final_attempt=True) == "failed"
    page = client.get(reverse("lti:course_lms", args=["cs1"])).content.decode()
    assert "Failed (gave up)" in page and "Send again" in page
    row.refresh_from_db()
    assert (row.state, row.attempts) == (PassbackState.FAILED, 2)


def test_a_student_cannot_send_a_grade_again(lms, column, assignment, client, people):
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(),
        student=student,
        requested_at=timezone.now(),
        state=PassbackState.FAILED,
    )
    client.force_login(student)
    assert (
        reverse("lti:course_lms", args=["cs1"])
        not in client.get(reverse("course", args=["cs1"])).content.decode()
    )
    answer = client.post(reverse("lti:send_again", args=["cs1", row.pk]))
    assert answer.status_code == 404
    assert client.get(reverse("lti:course_lms", args=["cs1"])).status_code == 404
    row.refresh_from_db()
    assert row.state == PassbackState.FAILED
    with pytest.raises(PermissionError):
        ags.send_again(row, people["bob"])


@pytest.mark.docker
@pytest.mark.worker
def test_staff_send_a_failed_grade_again(lms, column, assignment, client, people, celery_worker, wait_for):
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(),
        student=student,
        requested_at=timezone.now(),
        state=PassbackState.FAILED,
    )
    client.force_login(people["ta"])
    answer = client.post(reverse("lti:send_again", args=["cs1", row.pk]))
    assert answer.status_code == 302
    assert wait_for(sent(sent_score=Decimal("3.00")), 60)
    assert lms.kept(column, STUDENT)["scoreGiven"] == 3.0


@pytest.mark.docker
@pytest.mark.worker
def test_a_grade_whose_message_was_lost_is_sent_by_the_sweep(
    lms, column, assignment, celery_worker, wait_for
):
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    assert ags.resend_stale() == 0  # pending, but not for long: its message may be on its way
    GradePassback.objects.filter(pk=row.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert ags.resend_stale() == 1
    assert wait_for(sent(sent_score=Decimal("3.00")), 60)
    assert lms.kept(column, STUDENT)["scoreGiven"] == 3.0


def test_a_score_the_lms_refuses_fails_at_once_and_so_does_a_link_without_the_score_scope(
    lms, column, assignment
):
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    lms.fail("scores", 400)
    assert ags.send_passback(row.pk) == "failed"  # no retry: the same score would be refused again
    row.refresh_from_db()
    assert (row.state, row.attempts) == (PassbackState.FAILED, 1) and "HTTP 400" in row.last_error
    launched(lms, ags={"scope": [AGS_SCOPES[0]], "lineitem": column})  # the LMS took the score scope away
    GradePassback.objects.filter(pk=row.pk).update(state=PassbackState.PENDING)
    assert ags.send_passback(row.pk) == "failed"
    row.refresh_from_db()
    assert "Missing required scope" in row.last_error


@pytest.mark.docker
@pytest.mark.worker
def test_a_rejected_rubric_score_makes_the_grade_fully_graded(
    lms, column, assignment, people, celery_worker, wait_for
):
    item = RubricItem.objects.create(assignment=assignment, name="style", max_points=2)
    student = student_of(lms)
    with transaction.atomic():  # as grading records a grade: the announcement sends it
        submission = graded(assignment, student)
        ags.request_passbacks(submission)
    assert wait_for(sent(sent_progress="PendingManual"), 60)
    proposed = RubricScore.objects.create(submission=submission, item=item, points=1, justification="meh")
    do_decide_rubric(proposed, approve=False, by=people["ta"])  # the points stay 0: no score change
    assert wait_for(sent(sent_progress="FullyGraded"), 60)
    kept = lms.kept(column, STUDENT)
    assert (kept["scoreGiven"], kept["scoreMaximum"], kept["gradingProgress"]) == (3.0, 5.0, "FullyGraded")


def test_the_last_allowed_attempt_completes_the_activity(lms, column, assignment):
    assignment.attempt_limit = 2
    assignment.save()
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    assert ags.send_passback(row.pk) == "sent"
    graded(assignment, student, score="2")
    GradePassback.objects.filter(pk=row.pk).update(state=PassbackState.PENDING)
    assert ags.send_passback(row.pk) == "sent"
    assert [(s["scoreGiven"], s["activityProgress"]) for s in lms.scores_for(STUDENT)] == [
        (3.0, "Submitted"),
        (2.0, "Completed"),  # no attempt left; the last graded attempt counts
    ]


def test_an_lms_that_does_not_answer_in_time_is_a_failure_to_retry(lms, column, assignment, settings):
    settings.LTI_SERVICE_TIMEOUT_SECONDS = 1
    lms.slow_seconds = 3
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    lms.fail("scores", "slow")
    with pytest.raises(ags.PassbackFailed):
        ags.send_passback(row.pk)
    row.refresh_from_db()
    assert row.state == PassbackState.RETRYING
    assert row.last_error == "the LMS did not answer within 1 s"


def test_sending_runs_on_the_default_queue_and_beat_sweeps_lost_grades(settings):
    app.loader.import_default_modules()
    for task in ("lti.send_grade", "lti.resend_stale_grades", "lti.sync_roster", "lti.sync_rosters"):
        assert task in app.tasks
        assert app.amqp.router.route({}, task)["queue"].name == "default"
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"lti.resend_stale_grades", "lti.sync_rosters"} <= scheduled


def test_every_delivery_is_counted_for_operators(lms, column, assignment):
    """grader_grade_passback_deliveries_total: a retried failure, a give-up and a delivery."""
    counted = {
        r: REGISTRY.get_sample_value(DELIVERIES, {"result": r}) or 0
        for r in ("delivered", "failed", "gave_up")
    }
    student = student_of(lms)
    graded(assignment, student)
    row = GradePassback.objects.create(
        link=AssignmentLink.objects.get(), student=student, requested_at=timezone.now()
    )
    lms.fail("scores", 500, 500)
    with pytest.raises(ags.PassbackFailed):
        ags.send_passback(row.pk)
    assert ags.send_passback(row.pk, final_attempt=True) == "failed"
    assert ags.send_passback(row.pk) == "sent"
    after = {r: REGISTRY.get_sample_value(DELIVERIES, {"result": r}) for r in counted}
    assert after == {r: counted[r] + 1 for r in counted}
