"""Grades sent back to the LMS (LTI Assignment and Grade Services).

When grading announces that what a submission is worth changed (``grading.signals``: graded,
regraded, overridden, a rubric score decided), each LMS grade column of that assignment (the
line item of each linked resource link) gets the student's **counted** score — the one the
gradebook shows (``Submission.objects.counted()``, ``grading.scoring``), never recomputed here:

- ``request_passbacks`` (in the grading transaction): one ``GradePassback`` row per (student,
  line item), bumped to ``pending``; the Celery task is sent on commit.
- ``send_passback`` (the task ``lti.send_grade``, queue ``default``): reads the counted score
  *at send time*, so however many changes and retries pile up, the last send carries the latest
  score, and its AGS ``timestamp`` (the moment it was read) lets the LMS drop an older score
  arriving late. A failure records the error; a passing one (see ``retryable``) is retried with exponential
  backoff, past ``LTI_PASSBACK_MAX_RETRIES`` or at once for a refusal the row shows as failed,
  and course staff can send it again.
  Nothing is lost: a row stays pending or failed until the LMS accepted the latest score, and
  ``resend_stale`` re-sends pending rows whose message was lost.

Score: ``scoreGiven`` = the counted final score, ``scoreMaximum`` = the assignment's points
(tests + rubric, as the line item says), ``activityProgress`` = ``Submitted`` while the student
has attempts left, else ``Completed``; ``gradingProgress`` = ``PendingManual`` while rubric
scores of the counted attempt wait for staff (and no override decides the score), else
``FullyGraded``; ``userId`` = the student's LTI ``sub`` at that LMS.

The line item: the link's own (from the launch or deep linking), else found in the LMS's
``lineitems`` by this link's resource link id, else created there (maximum, label, resource id,
resource link id, tag) and remembered on the link, so it is never made twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from lti_tool.models import LtiUser
from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.grade import Grade
from pylti1p3.lineitem import LineItem

from courses import policy
from courses.models import Role
from feedback.models import RubricScore, RubricStatus
from grading.models import Submission
from grading.services import attempt_allowance
from lti.connector import connector_for, describe
from lti.linking import score_maximum
from lti.models import AssignmentLink
from lti.service_models import GradePassback, PassbackState
from observe import metrics

log = logging.getLogger(__name__)

FULLY_GRADED, PENDING_MANUAL = "FullyGraded", "PendingManual"
COMPLETED, SUBMITTED = "Completed", "Submitted"


class PassbackFailed(Exception):
    """The LMS did not take the score; the task retries with backoff."""


# The operators' names for the outcomes (the same words as webhook deliveries).
PASSBACK_METRIC_RESULT = {"sent": "delivered", "retrying": "failed", "failed": "gave_up"}


def record_delivery(result: str) -> None:
    """Every send's outcome: ``sent``, ``retrying``, ``failed`` (gave up) or ``skipped``
    (nothing to send). The hook for the operators' metric
    ``grader_grade_passback_deliveries_total{result}`` (skips are not deliveries)."""
    log.info("grade passback %s", result, extra={"passback_result": result})
    if result in PASSBACK_METRIC_RESULT:
        metrics.grade_passback_delivery(PASSBACK_METRIC_RESULT[result])


# Rows change by UPDATE (atomic counters, conditional states), which skips auto_now:
# updated_at is set by hand, for resend_stale.


# --- asking for a send (in the grading transaction) -----------------------------------------
def request_passbacks(submission: Submission) -> list[int]:
    """Mark the student's grade pending in every LMS grade column of the assignment where the
    LMS knows them (an LTI identity at that LMS), and send the task on commit. Staff's own test
    submissions are not sent. Returns the rows' ids."""
    student = submission.student
    links = AssignmentLink.objects.filter(assignment_id=submission.assignment_id)
    if not links.exists() or policy.role_in(student, submission.assignment.course_id) != Role.STUDENT:
        return []
    issuers = set(LtiUser.objects.filter(auth_user=student).values_list("registration__issuer", flat=True))
    known = links.filter(resource_link__context__deployment__registration__issuer__in=issuers)
    ids = [_mark_pending(link, student) for link in known]
    for pk in ids:
        transaction.on_commit(lambda pk=pk: enqueue(pk))
    return ids


def _mark_pending(link: AssignmentLink, student) -> int:
    passback, _ = GradePassback.objects.get_or_create(
        link=link, student=student, defaults={"requested_at": timezone.now()}
    )
    GradePassback.objects.filter(pk=passback.pk).update(
        state=PassbackState.PENDING,
        version=F("version") + 1,
        requested_at=timezone.now(),
        updated_at=timezone.now(),
    )
    return passback.pk


def enqueue(passback_id: int) -> None:
    try:
        # By name: the task module imports this one. Routed to "default" by settings.
        current_app.send_task("lti.send_grade", (passback_id,))
    except Exception:  # noqa: BLE001 - the pending row stays; resend_stale sends it again
        log.exception("could not enqueue a grade passback", extra={"passback_id": passback_id})


def send_again(passback: GradePassback, by) -> None:
    """Course staff's "send again" (policy: grading the course). Raises PermissionError."""
    if not policy.can(by, passback.link.assignment.course_id, policy.Cap.GRADE):
        raise PermissionError("Only the course's staff may send grades to the LMS.")
    with transaction.atomic():
        GradePassback.objects.filter(pk=passback.pk).update(
            state=PassbackState.PENDING,
            version=F("version") + 1,
            attempts=0,
            requested_at=timezone.now(),
            updated_at=timezone.now(),
        )
        transaction.on_commit(lambda: enqueue(passback.pk))


def resend_stale() -> int:
    """Send again the rows left pending or retrying, untouched for LTI_PASSBACK_STALE_SECONDS
    (longer than the longest backoff: their message was lost, e.g. with a broker restart).
    Returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.LTI_PASSBACK_STALE_SECONDS)
    ids = list(
        GradePassback.objects.filter(
            state__in=[PassbackState.PENDING, PassbackState.RETRYING], updated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        GradePassback.objects.filter(pk=pk).update(updated_at=timezone.now())
        enqueue(pk)
    return len(ids)


# --- sending (the Celery task) --------------------------------------------------------------
@dataclass(frozen=True)
class Score:
    given: Decimal
    maximum: Decimal
    activity: str
    grading: str


def counted_score(link: AssignmentLink, student) -> Score | None:
    """What the LMS should show now for the student, or None (no graded attempt counts)."""
    assignment = link.assignment
    mine = Submission.objects.filter(assignment=assignment, student=student)
    counted = mine.counted().first()
    if counted is None:
        return None
    allowance = attempt_allowance(assignment, mine, timezone.now())
    return Score(
        given=counted.final,
        maximum=Decimal(str(score_maximum(assignment))),
        activity=COMPLETED if allowance.exhausted else SUBMITTED,
        grading=PENDING_MANUAL if _rubric_waits(counted) else FULLY_GRADED,
    )


def _rubric_waits(counted: Submission) -> bool:
    """Rubric scores of this attempt still wait for staff (or were not proposed yet), and no
    override has settled the score."""
    if counted.override_score is not None:
        return False
    items = set(counted.assignment.rubric_items.values_list("pk", flat=True))
    if not items:
        return False
    decided = set(
        RubricScore.objects.filter(
            submission=counted, status__in=[RubricStatus.APPROVED, RubricStatus.REJECTED]
        ).values_list("item_id", flat=True)
    )
    return not items <= decided


def send_passback(passback_id: int, final_attempt: bool = False) -> str:
    """Send the latest counted score of one row. Returns the result (see record_delivery);
    raises PassbackFailed to be retried, unless ``final_attempt`` (then the row is failed)."""
    passback = (
        GradePassback.objects.select_related(
            "link__assignment", "link__resource_link__context__deployment__registration", "student"
        )
        .filter(pk=passback_id)
        .first()
    )
    if passback is None or passback.state == PassbackState.SENT:  # gone with its link, or done
        return _done("skipped")
    version, now = passback.version, timezone.now()
    score = counted_score(passback.link, passback.student)
    if score is None:
        _settle(passback, version, None, now)
        return _done("skipped")
    try:
        _post(passback, score, now)
    except (LtiException, OSError) as error:  # requests' errors are OSErrors
        return _failed(passback, describe(error), final_attempt or not retryable(error))
    _settle(passback, version, score, now)
    return _done("sent")


def retryable(error: Exception) -> bool:
    """Worth trying again later: the LMS failed or was busy (5xx, 408, 429), a token refused
    even after a fresh one (401), a timeout or a network error. Not: the LMS refused this score
    (another 4xx: a deleted line item, a malformed score) or the link does not allow sending
    (scope, no identity): those fail at once, for staff to see and send again."""
    if isinstance(error, LtiServiceException):
        status = error.response.status_code
        return status >= 500 or status in (401, 408, 429)
    return isinstance(error, OSError)


def _post(passback: GradePassback, score: Score, at) -> None:
    link = passback.link
    registration = link.resource_link.context.deployment.registration
    sub = (
        LtiUser.objects.filter(registration__issuer=registration.issuer, auth_user=passback.student)
        .values_list("sub", flat=True)
        .first()
    )
    if sub is None:
        raise LtiException("the student has no LTI identity at this LMS")
    service = AssignmentsGradesService(
        connector_for(registration),
        {"scope": link.ags_scopes, "lineitems": link.lineitems_url, "lineitem": link.lineitem_url},
    )
    grade = (
        Grade()
        .set_score_given(float(score.given))
        .set_score_maximum(float(score.maximum))
        .set_activity_progress(score.activity)
        .set_grading_progress(score.grading)
        .set_timestamp(at.isoformat())
        .set_user_id(sub)
    )
    service.put_grade(grade, LineItem().set_id(line_item_url(link, service)))


def line_item_url(link: AssignmentLink, service: AssignmentsGradesService) -> str:
    """The link's line item, found or created once (see the module's docstring)."""
    if link.lineitem_url:
        return link.lineitem_url
    with transaction.atomic():
        # One creator per link: a second task waits here and then finds the URL saved.
        locked = AssignmentLink.objects.select_for_update().get(pk=link.pk)
        if not locked.lineitem_url:
            locked.lineitem_url = _find_or_create_line_item(locked, service)
            locked.save(update_fields=["lineitem_url", "updated_at"])
    link.lineitem_url = locked.lineitem_url
    return link.lineitem_url


def _find_or_create_line_item(link: AssignmentLink, service: AssignmentsGradesService) -> str:
    if not link.lineitems_url:
        raise LtiException("the LMS gave no line item and no line items URL for this link")
    assignment = link.assignment
    wanted = (
        LineItem()
        .set_label(assignment.title)
        .set_score_maximum(score_maximum(assignment))
        .set_resource_id(str(assignment.pk))
        .set_resource_link_id(link.resource_link.id_on_platform)
        .set_tag("grader")
    )
    found = service.find_or_create_lineitem(wanted, find_by="resource_link_id")
    url = found.get_id()
    if not url:
        raise LtiException("the LMS's line item has no id")
    return url


def _settle(passback: GradePassback, version: int, score: Score | None, at) -> None:
    """Record what the LMS took. The row is sent only if no newer change asked for a send in
    the meantime (that one's task is on its way)."""
    fields: dict = {"attempts": 0, "last_error": "", "updated_at": timezone.now()}
    if score is not None:
        fields.update(
            sent_score=score.given, sent_maximum=score.maximum, sent_progress=score.grading, sent_at=at
        )
    GradePassback.objects.filter(pk=passback.pk).update(**fields)
    GradePassback.objects.filter(pk=passback.pk, version=version).update(state=PassbackState.SENT)


def _failed(passback: GradePassback, error: str, final_attempt: bool) -> str:
    state = PassbackState.FAILED if final_attempt else PassbackState.RETRYING
    GradePassback.objects.filter(pk=passback.pk).exclude(state=PassbackState.SENT).update(
        state=state, attempts=F("attempts") + 1, last_error=error[:2000], updated_at=timezone.now()
    )
    log.warning("grade passback failed: %s", error, extra={"passback_id": passback.pk})
    if final_attempt:
        return _done("failed")
    _done("retrying")
    raise PassbackFailed(error)


def _done(result: str) -> str:
    record_delivery(result)
    return result
