from django.contrib.auth.decorators import login_required
from django.db.models import Count, Max, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import render

from courses import access
from courses.markdown import render as render_markdown
from courses.models import Assignment
from courses.policy import Cap, role_capabilities
from grading.models import Submission
from web.forms import SubmitForm


@login_required
def dashboard(request):
    """Courses, and every published assignment with its deadline, the reader's attempts and
    counted score (the same number as the gradebook's: grading.scoring)."""
    memberships = list(request.user.memberships.select_related("course").order_by("course__code"))
    assignments = (
        Assignment.objects.filter(course__memberships__user=request.user, published=True)
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
    if Cap.VIEW_DRAFTS not in role_capabilities(membership.role):
        assignments = assignments.filter(published=True)
    return render(
        request,
        "courses/course.html",
        {"membership": membership, "course": membership.course, "assignments": assignments},
    )


def assignment_context(request, membership, assignment, form=None):
    return {
        "membership": membership,
        "course": membership.course,
        "assignment": assignment,
        "statement": render_markdown(assignment.statement),
        "visible_tests": assignment.tests.filter(visible=True),
        "hidden_count": assignment.tests.filter(visible=False).count(),
        "form": form or SubmitForm(initial={"code": assignment.starter_code}),
        "submissions": Submission.objects.filter(
            assignment=assignment, student=request.user
        ).prefetch_related("overrides"),
        "counted": Submission.objects.filter(assignment=assignment, student=request.user).counted().first(),
    }


@login_required
def assignment_detail(request, course_code, slug):
    membership, assignment = access.assignment_for(request.user, course_code, slug)
    return render(request, "courses/assignment.html", assignment_context(request, membership, assignment))
