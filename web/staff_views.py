"""Pages for course staff: the gradebook and its export, overrides, regrades."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from api.models import SCOPES, ApiToken
from courses import access
from courses.models import Role
from courses.policy import Cap, can, user_capabilities
from courses.roster import RosterRejected, find_account, parse_roster, remove_member, set_role, sync_roster
from feedback.models import RubricScore
from feedback.services import do_decide_rubric
from grading.gradebook import NothingToExport, course_gradebook, gradebook_csv
from grading.models import Submission, TrialPurpose
from grading.presentation import trial_results
from grading.staff import (
    ActionRejected,
    do_override_score,
    do_regrade_assignment,
    do_regrade_submission,
    request_reference_check,
)
from web.analytics import assignment_analytics, bar_chart
from web.forms import row_id
from web.views import submission_context
from web.wrong_answers import wrong_answers
from webhooks.models import Webhook

User = get_user_model()


@login_required
def gradebook(request, course_code):
    membership = access.require(request.user, course_code, Cap.VIEW_GRADES)
    assignments, rows = course_gradebook(membership.course)
    return render(
        request,
        "grader/gradebook.html",
        {"course": membership.course, "assignments": assignments, "rows": rows},
    )


@login_required
def gradebook_export(request, course_code):
    membership = access.require(request.user, course_code, Cap.VIEW_GRADES)
    try:
        body = gradebook_csv(membership.course)
    except NothingToExport as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{membership.course.code}-gradebook.csv"'
    return response


def _staff_submission(request, submission_id) -> Submission:
    """A submission the user may grade; 404 otherwise (as if it did not exist)."""
    submission = get_object_or_404(Submission.objects.select_related("assignment__course"), pk=submission_id)
    if not can(request.user, submission.assignment.course_id, Cap.GRADE):
        raise Http404("No such submission")
    return submission


@login_required
@require_POST
def override(request, submission_id):
    """Set a score by hand (grading.staff.do_override_score); a refusal shows the submission
    page again with the reason and what was typed."""
    submission = _staff_submission(request, submission_id)
    score, reason = request.POST.get("score", ""), request.POST.get("reason", "")
    try:
        do_override_score(submission, score, reason, request.user)
    except ActionRejected as exc:
        context = submission_context(
            request, submission, user_capabilities(request.user, submission.assignment.course_id)
        )
        context["override"] = {"error": f"Score not changed: {exc}", "score": score, "reason": reason}
        return render(request, "grader/submission.html", context, status=400)
    messages.success(request, "Score overridden: the student sees that course staff set it, and why.")
    return redirect("submission", submission_id=submission.pk)


@login_required
@require_POST
def regrade_one(request, submission_id):
    submission = _staff_submission(request, submission_id)
    try:
        do_regrade_submission(submission.pk, request.user)
    except ActionRejected as exc:
        messages.error(request, f"Not regraded: {exc}")
    else:
        messages.success(
            request, "Regrading: the results below update when it is done.", extra_tags="while-grading"
        )
    return redirect("submission", submission_id=submission.pk)


@login_required
@require_POST
def decide_rubric(request, submission_id, score_id):
    score = get_object_or_404(
        RubricScore.objects.select_related("submission__assignment"), pk=score_id, submission_id=submission_id
    )
    if not can(request.user, score.submission.assignment.course_id, Cap.GRADE):
        raise Http404("No such submission")
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "Choose approve or reject.")
    else:
        try:
            do_decide_rubric(score, decision == "approve", request.user)
        except ActionRejected as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Rubric score for “{score.item.name}” {decision}d.")
    return redirect("submission", submission_id=submission_id)


@login_required
@require_POST
def regrade(request, course_code, slug):
    membership = access.require(request.user, course_code, Cap.BULK_REGRADE)
    assignment = get_object_or_404(membership.course.assignments, slug=slug)
    try:
        run = do_regrade_assignment(assignment.pk, request.user)
    except ActionRejected as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Regrading {run.submissions.count()} submissions.")
    return redirect("assignment_submissions", course_code=course_code, slug=slug)


@login_required
def webhooks(request, course_code):
    """Instructors register, list and remove the course's webhook URLs."""
    membership = access.require(request.user, course_code, Cap.MANAGE_WEBHOOKS)
    course = membership.course
    error, url = None, ""
    if request.method == "POST":
        if "delete" in request.POST:
            course.webhooks.filter(pk=row_id(request.POST.get("delete"))).delete()
            messages.success(request, "Webhook removed.")
            return redirect("webhooks", course_code=course_code)
        url = request.POST.get("url", "").strip()
        hook = Webhook(course=course, url=url)
        try:
            hook.full_clean()
        except ValidationError as exc:
            error = " ".join(m for msgs in exc.message_dict.values() for m in msgs)
        else:
            hook.save()
            messages.success(request, "Webhook added. Its signing secret is shown below.")
            return redirect("webhooks", course_code=course_code)
    hooks = course.webhooks.prefetch_related("deliveries").order_by("created_at")
    return render(
        request,
        "grader/webhooks.html",
        {"course": course, "hooks": hooks, "error": error, "url": url},
        status=400 if error else 200,
    )


@login_required
def tokens(request, course_code):
    """Instructors create API tokens bound to this course (shown once) and revoke them."""
    membership = access.require(request.user, course_code, Cap.MANAGE_TOKENS)
    course, new_token, error = membership.course, None, None
    name, chosen = "", []
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        chosen = request.POST.getlist("scopes")
        if not name or not chosen or set(chosen) - set(SCOPES):
            error = "Give the token a name and at least one scope."
        else:
            _, new_token = ApiToken.issue(name[:100], chosen, [course], request.user)
            name, chosen = "", []
    return render(
        request,
        "grader/tokens.html",
        {
            "course": course,
            "tokens": course.api_tokens.order_by("-created_at"),
            "scopes": SCOPES,
            "new_token": new_token,
            "error": error,
            "name": name,
            "chosen": chosen,
        },
        status=400 if error else 200,
    )


@login_required
def token_revoke(request, course_code, token_id):
    """Revoking asks first: a page naming the token, its scopes and its last use (GET), then
    the revocation itself (POST). A token bound to several courses stops working in all."""
    membership = access.require(request.user, course_code, Cap.MANAGE_TOKENS)
    course = membership.course
    token = get_object_or_404(course.api_tokens.select_related("created_by"), pk=token_id)
    if request.method == "POST":
        if token.revoked_at is None:
            token.revoke()
            messages.success(request, f"Token “{token.name}” revoked: it no longer works.")
        else:
            messages.info(request, f"Token “{token.name}” was already revoked.")
        return redirect("tokens", course_code=course_code)
    other_courses = token.courses.exclude(pk=course.pk).order_by("code")
    return render(
        request,
        "grader/token_revoke.html",
        {"course": course, "token": token, "other_courses": other_courses},
    )


@login_required
@require_POST
def reference_check(request, course_code, slug):
    """Queue the tests against the reference solution (grading queue); follow it on its page."""
    membership = access.require(request.user, course_code, Cap.CHECK_REFERENCE)
    assignment = get_object_or_404(membership.course.assignments, slug=slug)
    try:
        trial = request_reference_check(assignment, request.user)
    except ActionRejected as exc:
        messages.error(request, str(exc))
        return redirect("assignment_submissions", course_code=course_code, slug=slug)
    return redirect("reference_check_result", course_code=course_code, slug=slug, trial_id=trial.pk)


@login_required
def reference_check_result(request, course_code, slug, trial_id):
    """A reference check's progress, then every test the reference solution fails."""
    membership = access.require(request.user, course_code, Cap.CHECK_REFERENCE)
    assignment = get_object_or_404(membership.course.assignments, slug=slug)
    trial = get_object_or_404(assignment.trial_runs, pk=trial_id, purpose=TrialPurpose.REFERENCE)
    results = trial_results(trial.results)
    return render(
        request,
        "grader/reference_check.html",
        {
            "course": membership.course,
            "assignment": assignment,
            "trial": trial,
            "results": results,
            "membership": membership,
        },
    )


@login_required
@require_POST
def publish(request, course_code, slug):
    membership = access.require(request.user, course_code, Cap.PUBLISH)
    assignment = get_object_or_404(membership.course.assignments, slug=slug)
    assignment.published = request.POST.get("published") == "1"
    assignment.save(update_fields=["published", "updated_at"])
    messages.success(
        request, "Published: students can see it now." if assignment.published else "Unpublished."
    )
    return redirect("assignment_submissions", course_code=course_code, slug=slug)


@login_required
def analytics(request, course_code, slug):
    membership = access.require(request.user, course_code, Cap.VIEW_GRADES)
    assignment = get_object_or_404(membership.course.assignments, slug=slug)
    data = assignment_analytics(assignment)
    specs = [
        ("Students by counted score", data.distribution, "", None),
        ("Pass rate per test", data.pass_rates, "%", 1),
        ("Most failed tests (submissions)", data.failing_tests, "", None),
        ("Most common exceptions", data.exceptions, "", None),
        ("Hint ratings", list(data.ratings.items()), "", None),
        ("Model tokens, all hints", data.tokens, "", None),
        ("Model hints by time to answer", data.latency, "", None),
    ]
    charts = [(title, bar_chart(title, rows, unit, top)) for title, rows, unit, top in specs]
    # What the class gets wrong, per test; each chart repeats its table (the text alternative).
    wrong = [
        (
            test,
            bar_chart(
                f"Students per answer on “{test.name}” (as in the table)",
                [(a.label, a.students) for a in test.answers],
            ),
        )
        for test in wrong_answers(assignment)
    ]
    return render(
        request,
        "grader/analytics.html",
        {
            "course": membership.course,
            "assignment": assignment,
            "data": data,
            "charts": charts,
            "wrong": wrong,
        },
    )


@login_required
def members(request, course_code):
    """Instructors add people (by username or e-mail), change roles and import a roster CSV."""
    membership = access.require(request.user, course_code, Cap.MANAGE_PEOPLE)
    course, error = membership.course, None
    if request.method == "POST":
        try:
            error = _change_members(request, course)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        if error is None:
            return redirect("members", course_code=course_code)
    people = course.memberships.select_related("user").order_by("role", "user__username")
    context = {
        "course": course,
        "people": people,
        "roles": Role.choices,
        "error": error,
        "who": request.POST.get("who", ""),
        "add_role": request.POST.get("role", Role.STUDENT) if "who" in request.POST else Role.STUDENT,
    }
    return render(request, "grader/members.html", context, status=400 if error else 200)


@login_required
def member_remove(request, course_code, member_id):
    """Remove someone from the course, after a confirmation page (GET shows it, POST removes:
    no script needed). Through courses.roster.remove_member: the course keeps an instructor,
    and the person's submissions and grades are kept."""
    membership = access.require(request.user, course_code, Cap.MANAGE_PEOPLE)
    course = membership.course
    member = get_object_or_404(course.memberships.select_related("user"), pk=member_id)
    error = None
    if request.method == "POST":
        try:
            remove_member(course, member.user)
        except RosterRejected as exc:
            error = " ".join(exc.messages)
        else:
            name = member.user.get_username()
            messages.success(request, f"{name} was removed from {course.code}; their submissions are kept.")
            if member.user_id == request.user.pk:
                return redirect("dashboard")  # they no longer see the course
            return redirect("members", course_code=course_code)
    context = {
        "course": course,
        "member": member,
        "submissions": Submission.objects.filter(student=member.user, assignment__course=course).count(),
        "error": error,
    }
    return render(request, "grader/member_remove.html", context, status=400 if error else 200)


def _change_members(request, course) -> str | None:
    """Apply one change from the people page; returns an error message, or None when done."""
    if "role_for" in request.POST:
        role = request.POST.get("role")
        if role not in Role.values:
            return "Unknown role."
        member = course.memberships.select_related("user").filter(pk=row_id(request.POST["role_for"])).first()
        if member is None:
            return "That person is not a member of this course."
        set_role(course, member.user, role)
        messages.success(request, "Role changed.")
        return None
    if "csv" in request.FILES:
        result = sync_roster(course, parse_roster(request.FILES["csv"].read()))
        shared = result["unchanged_shared_accounts"]
        messages.success(
            request,
            f"Imported {result['total']} people ({result['created_users']} new accounts)."
            + (
                f" {shared} accounts shared with other courses kept their names and e-mail." if shared else ""
            ),
        )
        return None
    who = request.POST.get("who", "").strip()
    role = request.POST.get("role", Role.STUDENT)
    user = find_account(who) if who else None
    if user is None:
        return f"No account with the username or e-mail {who!r}; import a roster CSV to create accounts."
    set_role(course, user, role)
    messages.success(request, f"{user.get_username()} is now {Role(role).label.lower()} in {course.code}.")
    return None
