from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from courses import access
from courses.markdown import render as render_markdown
from grader.forms import SubmitForm
from grader.models import Submission


@login_required
def dashboard(request):
    memberships = request.user.memberships.select_related("course").order_by("course__code")
    return render(request, "courses/dashboard.html", {"memberships": memberships})


@login_required
def course_detail(request, course_code):
    membership = access.membership_for(request.user, course_code)
    assignments = membership.course.assignments.all()
    if not membership.is_staff:
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
        "form": form or SubmitForm(initial={"code": assignment.starter_files.get(assignment.main_file, "")}),
        "submissions": Submission.objects.filter(assignment=assignment, student=request.user),
    }


@login_required
def assignment_detail(request, course_code, slug):
    membership, assignment = access.assignment_for(request.user, course_code, slug)
    return render(request, "courses/assignment.html", assignment_context(request, membership, assignment))
