from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from courses import access
from courses.models import Extension
from courses.policy import Cap, user_capabilities
from feedback.dispatcher import model_server_problem
from feedback.models import Feedback
from feedback.services import feedback_pending, model_usage
from grading.live import changed
from grading.models import Status, Submission
from grading.presentation import file_diffs, results_for_viewer
from grading.scoring import explain_lateness
from grading.services import SubmissionRejected, do_submit
from web import fragments, live
from web.course_views import assignment_context, editor_code
from web.forms import SubmitForm
from web.wrong_answers import answer_filter


@login_required
@require_POST
def submit(request, course_code, slug):
    membership, assignment = access.assignment_for(request.user, course_code, slug, Cap.SUBMIT)
    mine = Submission.objects.filter(assignment=assignment, student=request.user)
    form = SubmitForm(
        request.POST,
        request.FILES,
        untouched=(assignment.starter_code, editor_code(assignment, mine)),
        unsafe_names=getattr(request, "unsafe_upload_names", []),
    )
    if form.is_valid():
        try:
            submission = do_submit(request.user, assignment, form.uploads(assignment.main_file))
        except SubmissionRejected as exc:
            form.add_error(None, str(exc))
        else:
            # "while-grading": static/js/live.js takes it away once the page shows the result.
            messages.success(
                request,
                f"Attempt {submission.attempt} received; grading has started.",
                extra_tags="while-grading",
            )
            return redirect("submission", submission_id=submission.pk)
    context = assignment_context(request, membership, assignment, form)
    return render(request, "courses/assignment.html", context, status=400)


def _submission_for(request, submission_id) -> tuple[Submission, frozenset[Cap]]:
    """The submission, if it is the reader's own or they may see everyone's (else 404), and the
    reader's capabilities in its course (one lookup: the live part polls this)."""
    submission = get_object_or_404(
        Submission.objects.select_related("assignment__course", "student", "feedback"), pk=submission_id
    )
    caps = user_capabilities(request.user, submission.assignment.course)  # loaded: no query
    if submission.student_id != request.user.pk and Cap.VIEW_SUBMISSIONS not in caps:
        raise Http404("No such submission")
    return submission, caps


def submission_context(request, submission, caps: frozenset[Cap]):
    is_staff = Cap.VIEW_SUBMISSIONS in caps
    can_grade = Cap.GRADE in caps
    feedback = getattr(submission, "feedback", None)
    assignment = submission.assignment
    results = results_for_viewer(submission, Cap.SEE_HIDDEN_DETAILS in caps)
    return {
        "submission": submission,
        "assignment": submission.assignment,
        "course": submission.assignment.course,
        "results": results,
        # Graded again (a regrade): until it is done, the previous grading's results stay.
        "regrading": not submission.is_finished and bool(results),
        "overrides": submission.overrides.select_related("by") if is_staff else [],
        "rubric_scores": submission.rubric_scores.select_related("item"),
        "feedback": feedback,
        "is_staff": is_staff,
        "can_grade": can_grade,
        "can_regrade": can_grade and submission.status in (Status.GRADED, Status.ERROR),
        "late_note": _late_note(submission),
        "listings": fragments.listings(
            submission.files, assignment.main_file, feedback.line if feedback else None
        ),
        # A fallback hint may still be replaced by the model's: keep polling while one is pending.
        "live_done": submission.is_finished and not feedback_pending(submission),
    }


def _late_note(submission) -> str:
    if not submission.is_late:
        return ""
    extension = Extension.objects.filter(assignment=submission.assignment, student=submission.student).first()
    return explain_lateness(
        submission.assignment,
        submission.submitted_at,
        submission.late_penalty_percent or Decimal(0),
        extension,
    )


@login_required
def submission_detail(request, submission_id):
    version = live.current_version(submission_id)  # before the rows it versions are read
    submission, caps = _submission_for(request, submission_id)
    context = submission_context(request, submission, caps)
    if not context["live_done"]:  # live.js polls: its first poll can be a 304 too
        context["live_etag"] = live.page_etag(request, submission.pk, version)
    return render(request, "grader/submission.html", context)


def submission_status(request, submission_id):
    """The live part of the submission page, fetched by static/js/live.js until finished: a 304
    from the cache alone while the reader's copy is current (web.live), else the fragment."""
    return live.not_modified(request, submission_id) or _live_fragment(request, submission_id)


@login_required
def _live_fragment(request, submission_id):
    version = live.current_version(submission_id)  # before the rows it versions are read
    submission, caps = _submission_for(request, submission_id)
    response = render(request, "grader/_submission_live.html", submission_context(request, submission, caps))
    live.remember(request, submission_id, version, response)
    return response


@login_required
def assignment_submissions(request, course_code, slug):
    """Staff: every submission of the assignment, filtered and paginated, with model usage."""
    membership = access.require(request.user, course_code, Cap.VIEW_SUBMISSIONS)
    assignment = get_object_or_404(membership.course.assignments, slug=slug)
    submissions = assignment.submissions.select_related("student").order_by("-submitted_at")
    keys = ("student", "status", "late", "min", "max", "test", "answer")
    filters = {k: request.GET.get(k, "").strip() for k in keys}
    if filters["student"]:
        submissions = submissions.filter(student__username__icontains=filters["student"])
    if filters["status"] in Status.values:
        submissions = submissions.filter(status=filters["status"])
    if filters["late"] == "1":
        submissions = submissions.filter(is_late=True)
    filter_errors = []
    if filters["min"] or filters["max"]:
        submissions = submissions.with_final_score()  # grading.scoring's rule, in SQL
        for key, lookup in (("min", "final__gte"), ("max", "final__lte")):
            if not filters[key]:
                continue
            try:
                value = Decimal(filters[key])
                if not value.is_finite() or abs(value) > 10**6:
                    raise InvalidOperation
            except InvalidOperation:
                filter_errors.append(f"“{filters[key]}” is not a number: the {key}imum score was ignored.")
            else:
                submissions = submissions.filter(**{lookup: value})
    answer = None
    if filters["test"] or filters["answer"]:
        # From the analytics page: the students' latest attempts giving one answer to one test.
        try:
            tested, answer = answer_filter(assignment, filters["test"], filters["answer"])
        except ValueError as exc:
            filter_errors.append(str(exc))
        else:
            submissions = submissions.filter(pk__in=answer.submission_ids if answer else [])
            answer = {"test": tested, "answer": answer}
    page = Paginator(submissions, 50).get_page(request.GET.get("page"))
    usage = model_usage(Feedback.objects.filter(submission__assignment=assignment))
    hints_paused = bool(assignment.llm_hints and model_server_problem())
    regrade = assignment.regrades.first()
    context = {
        "course": membership.course,
        "assignment": assignment,
        "submissions": page,
        "page": page,
        "filters": filters,
        "filter_errors": filter_errors,
        "filter_query": urlencode({k: v for k, v in filters.items() if v}),
        "by_answer": answer,
        "statuses": Status.choices,
        "membership": membership,
        "regrade": regrade,
        "usage": usage,
        "hints_paused": hints_paused,
        "regrade_progress": regrade.progress() if regrade else None,
        # Removed people's work stays listed; a tag says they left the course.
        "member_ids": set(membership.course.memberships.values_list("user_id", flat=True)),
    }
    return render(request, "grader/assignment_submissions.html", context)


@login_required
@require_POST
def rate_hint(request, submission_id):
    """The student says whether the hint helped (1) or not (-1); it feeds the analytics."""
    submission = get_object_or_404(Submission, pk=submission_id, student=request.user)
    feedback = getattr(submission, "feedback", None)
    rating = {"helpful": 1, "not_helpful": -1}.get(request.POST.get("rating", ""))
    if feedback is None or rating is None:
        messages.error(request, "Nothing to rate.")
    else:
        Feedback.objects.filter(pk=feedback.pk).update(rating=rating)
        changed(submission.pk)  # the live part shows the rating
        messages.success(request, "Thanks — your rating helps us improve the hints.")
    return redirect("submission", submission_id=submission.pk)


@login_required
def attempt_diff(request, submission_id):
    """What changed between this attempt and the student's previous one."""
    submission, _ = _submission_for(request, submission_id)
    previous = (
        Submission.objects.filter(
            assignment=submission.assignment, student=submission.student, attempt__lt=submission.attempt
        )
        .order_by("-attempt")
        .first()
    )
    return render(
        request,
        "grader/diff.html",
        {
            "submission": submission,
            "previous": previous,
            "assignment": submission.assignment,
            "course": submission.assignment.course,
            "diffs": file_diffs(previous.files if previous else {}, submission.files),
        },
    )
