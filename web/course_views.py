import math

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from courses import access
from courses.models import Assignment, Extension
from courses.policy import Cap, membership_capabilities
from grading import scoring
from grading.models import Submission
from grading.services import attempt_allowance
from web import fragments
from web.forms import SubmitForm


@login_required
def dashboard(request):
    """Courses, and every published assignment with its deadline, the reader's attempts and
    counted score (the same number as the gradebook's: grading.scoring). Archived courses and
    assignments are left off (their pages and grades stay)."""
    memberships = list(
        request.user.memberships.filter(course__archived_at__isnull=True)
        .select_related("course")
        .order_by("course__code")
    )
    assignments = (
        Assignment.objects.filter(
            course__memberships__user=request.user,
            published=True,
            archived_at__isnull=True,
            course__archived_at__isnull=True,
        )
        .select_related("course")
        .annotate(points=Sum("tests__points"))  # Assignment.max_points without a query per row
        .order_by("deadline", "title")
    )
    mine = Submission.objects.filter(student=request.user)
    progress = {
        row["assignment_id"]: row
        for row in mine.values("assignment_id").annotate(attempts=Count("id"), latest=Max("submitted_at"))
    }
    for sub in mine.counted():
        progress[sub.assignment_id]["counted"] = sub.final
    rows = [(a, progress.get(a.pk)) for a in assignments]
    return render(request, "courses/dashboard.html", {"memberships": memberships, "rows": rows})


@login_required
def starter_file(request, course_code, slug, name):
    """Download one of the assignment's starter files."""
    _, assignment = access.assignment_for(request.user, course_code, slug)
    if name not in assignment.starter_files:
        raise Http404("No such file")
    response = HttpResponse(assignment.starter_files[name], content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def course_detail(request, course_code):
    membership = access.require(request.user, course_code, Cap.VIEW_COURSE)
    assignments = membership.course.assignments.all()
    if Cap.VIEW_DRAFTS not in membership_capabilities(membership):
        assignments = assignments.filter(published=True, archived_at__isnull=True)
    return render(
        request,
        "courses/course.html",
        {"membership": membership, "course": membership.course, "assignments": assignments},
    )


def editor_code(assignment, submissions) -> str:
    """What the editor opens with: the main file of the student's latest attempt (whatever its
    status), else the starter code."""
    return _latest(assignment, submissions)[1]


def _latest(assignment, submissions) -> tuple[int, str]:
    """The student's latest attempt number (0: none) and the editor's code, in one query."""
    attempt, files = submissions.order_by("-attempt").values_list("attempt", "files").first() or (0, None)
    if isinstance(files, dict) and isinstance(files.get(assignment.main_file), str):
        return attempt, files[assignment.main_file]
    return attempt, assignment.starter_code


def assignment_context(request, membership, assignment, form=None):
    """The assignment page: the statement, the student's editor (their latest attempt's code)
    and where they stand: deadlines and the late rule (grading.scoring), attempts used and left
    and the wait before the next (grading.services.attempt_allowance, the rule do_submit
    applies), which attempt counts (Submission.objects.counted())."""
    now = timezone.now()
    submissions = (
        Submission.objects.filter(assignment=assignment, student=request.user)
        .select_related("assignment")
        .prefetch_related("overrides")
    )
    extension = Extension.objects.filter(assignment=assignment, student=request.user).first()
    deadline, hard_deadline = (
        (extension.deadline, extension.hard_deadline)
        if extension
        else (assignment.deadline, assignment.hard_deadline)
    )
    closed, late_now = "", None
    try:
        late_now = scoring.lateness(assignment, now, extension)
    except scoring.LateRejected as exc:
        closed = str(exc)
    allowance = attempt_allowance(assignment, submissions, now)
    latest_attempt, code = _latest(assignment, submissions)
    tests = list(assignment.tests.all())
    attempts = list(submissions)
    return {
        "membership": membership,
        "course": membership.course,
        "assignment": assignment,
        "statement": fragments.statement_html(assignment.statement),
        "visible_tests": [t for t in tests if t.visible],
        "hidden_count": sum(1 for t in tests if not t.visible),
        "form": form or SubmitForm(initial={"code": code}),
        "submissions": attempts,
        "latest_attempt": latest_attempt,
        "counted": _counted(submissions, attempts),
        "now": now,
        "allowance": allowance,
        "wait_seconds": math.ceil(allowance.wait_seconds),
        "wait_text": duration_text(allowance.wait_seconds) if allowance.wait_seconds else "",
        "min_wait_text": duration_text(assignment.min_seconds_between_attempts),
        "extension": extension,
        "deadline": deadline,
        "hard_deadline": hard_deadline,
        "late_rule": scoring.late_rule(assignment),
        "late_now": late_now if late_now and late_now.is_late else None,
        "late_penalty_now": f"{late_now.penalty_percent.normalize():f}"
        if late_now and late_now.penalty_percent
        else "",
        "closed": closed,
        "can_submit": not closed and not allowance.exhausted,
    }


def _counted(submissions, attempts: list[Submission]) -> Submission | None:
    """The attempt that counts (the rule's SQL: SubmissionQuerySet.counted), annotated with
    ``final``: taken from ``attempts``, which already carry their overrides."""
    row = submissions.counted().values_list("pk", "final").first()
    if row is None:
        return None
    counted = next((s for s in attempts if s.pk == row[0]), None)
    if counted is None:  # graded between the two reads: ask for it alone
        return submissions.counted().first()
    counted.final = row[1]
    return counted


def duration_text(seconds: float) -> str:
    """A wait for people: "45 s", "4 min 10 s", "2 h 5 min" (rounded up to the second, so a
    wait never reads shorter than it is). static/js/assignment.js counts down in the same words."""
    total = math.ceil(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@login_required
def assignment_detail(request, course_code, slug):
    membership, assignment = access.assignment_for(request.user, course_code, slug)
    return render(request, "courses/assignment.html", assignment_context(request, membership, assignment))
