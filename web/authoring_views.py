"""Instructors author assignments on the site: settings, tests (a form per kind), rubric items.

Only instructors author (TAs grade and read); anyone else gets the same 404 as for a course
that does not exist. Forms are in web/authoring_forms.py, saving tests in web/authoring.py."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from courses import access
from courses.assignments import set_assignment_archived
from courses.catalog import create_course, set_course_archived
from courses.markdown import render as render_markdown
from courses.models import Assignment, Membership
from courses.policy import Cap, may_create_courses
from web.authoring import do_save_test, graded_with_old_tests
from web.authoring_forms import TEST_FORMS, AssignmentForm, CourseForm, RubricItemForm
from web.forms import row_id


def _assignment(request, course_code, slug) -> tuple[Membership, Assignment]:
    membership = access.require(request.user, course_code, Cap.AUTHOR)
    return membership, get_object_or_404(membership.course.assignments, slug=slug)


def _remind_regrade(request, assignment) -> None:
    count = graded_with_old_tests(assignment)
    if count:
        messages.warning(
            request,
            f"{count} graded submission{'s' if count != 1 else ''} used the previous tests: "
            "regrade them from the submissions page when you are done.",
        )


@login_required
def course_create(request):
    """People allowed to add courses (courses.policy.may_create_courses: the
    ``courses.add_course`` permission, given in the admin) create one and become its instructor."""
    if not may_create_courses(request.user):
        raise PermissionDenied("Ask an administrator for permission to create courses.")
    form = CourseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        course = create_course(request.user, form.save(commit=False))
        messages.success(request, "Course created; you are its instructor. Add people and assignments.")
        return redirect("course", course_code=course.code)
    return render(request, "courses/course_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def course_edit(request, course_code):
    membership = access.require(request.user, course_code, Cap.AUTHOR)
    form = CourseForm(request.POST or None, instance=membership.course)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Course saved.")
        return redirect("course", course_code=course_code)
    if form.errors:
        membership.course.refresh_from_db()
    context = {"form": form, "course": membership.course}
    return render(request, "courses/course_form.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def archive(request, course_code):
    """Archive (``archived=1``) or restore the course, or one of its assignments
    (``assignment=<slug>``): courses.catalog and courses.assignments; what archiving means is
    the policy's (courses.policy.in_force, closed_reason)."""
    membership = access.require(request.user, course_code, Cap.ARCHIVE)
    archived = request.POST.get("archived") == "1"
    slug = request.POST.get("assignment")
    if slug:
        assignment = get_object_or_404(membership.course.assignments, slug=slug)
        try:
            set_assignment_archived(assignment, archived)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("course", course_code=course_code)
        done = "archived: it takes no submissions and students no longer see it" if archived else "restored"
        messages.success(request, f"“{assignment.title}” {done}.")
    else:
        set_course_archived(membership.course, archived)
        done = (
            "archived: it is read-only and off the dashboards; its grades stay readable"
            if archived
            else "restored"
        )
        messages.success(request, f"{membership.course.code} {done}.")
    return redirect("course", course_code=course_code)


@login_required
def assignment_create(request, course_code):
    membership = access.require(request.user, course_code, Cap.AUTHOR)
    form = AssignmentForm(request.POST or None, instance=Assignment(course=membership.course))
    if request.method == "POST" and form.is_valid():
        assignment = form.save()
        messages.success(request, "Draft created (students cannot see it yet). Now add its tests.")
        return redirect("assignment_edit", course_code=course_code, slug=assignment.slug)
    return render(
        request,
        "courses/assignment_form.html",
        {"course": membership.course, "form": form, "membership": membership},
        status=400 if form.errors else 200,
    )


@login_required
def assignment_edit(request, course_code, slug):
    membership, assignment = _assignment(request, course_code, slug)
    form = AssignmentForm(request.POST or None, instance=assignment)
    if request.method == "POST" and form.is_valid():
        assignment = form.save()
        messages.success(request, "Settings saved.")
        return redirect("assignment_edit", course_code=course_code, slug=assignment.slug)
    return _edit_page(request, membership, assignment, form, RubricItemForm())


def _edit_page(request, membership, assignment, form, rubric_form):
    if form.errors:  # the instance carries the rejected input: show what is saved instead
        assignment.refresh_from_db()
    context = {
        "course": membership.course,
        "membership": membership,
        "assignment": assignment,
        "form": form,
        "tests": assignment.tests.all(),
        "kinds": [(kind, f.kind.label) for kind, f in TEST_FORMS.items()],
        "rubric_items": assignment.rubric_items.all(),
        "rubric_form": rubric_form,
    }
    status = 400 if form.errors or rubric_form.errors else 200
    return render(request, "courses/assignment_form.html", context, status=status)


def _test_page(request, membership, assignment, form, test=None):
    if request.method == "POST" and form.is_valid():
        try:
            saved = do_save_test(assignment, form, test)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                for problem in problems:
                    form.add_error(None if field == "__all__" else field, problem)
        else:
            messages.success(request, f"Test “{saved.name}” saved.")
            _remind_regrade(request, assignment)
            return redirect("assignment_edit", course_code=membership.course.code, slug=assignment.slug)
    return render(
        request,
        "courses/test_form.html",
        {"course": membership.course, "assignment": assignment, "form": form, "test": test},
        status=400 if form.errors else 200,
    )


@login_required
def test_create(request, course_code, slug, kind):
    membership, assignment = _assignment(request, course_code, slug)
    if kind not in TEST_FORMS:
        raise Http404("No such test kind")
    form = TEST_FORMS[kind](request.POST or None, request.FILES or None)
    return _test_page(request, membership, assignment, form)


@login_required
def test_edit(request, course_code, slug, test_id):
    membership, assignment = _assignment(request, course_code, slug)
    test = get_object_or_404(assignment.tests, pk=test_id)
    form_class = TEST_FORMS[test.kind]
    if request.method == "POST":
        form = form_class(request.POST, request.FILES or None)
    else:
        form = form_class.for_test(test)
    return _test_page(request, membership, assignment, form, test)


@login_required
@require_POST
def test_delete(request, course_code, slug, test_id):
    _, assignment = _assignment(request, course_code, slug)
    test = get_object_or_404(assignment.tests, pk=test_id)
    try:
        test.delete()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("assignment_edit", course_code=course_code, slug=slug)
    messages.success(request, f"Test “{test.name}” deleted.")
    _remind_regrade(request, assignment)
    return redirect("assignment_edit", course_code=course_code, slug=slug)


@login_required
@require_POST
def rubric(request, course_code, slug):
    """Add a rubric item, or delete one (the model grades against these items)."""
    membership, assignment = _assignment(request, course_code, slug)
    if "delete" in request.POST:
        try:
            for item in assignment.rubric_items.filter(pk=row_id(request.POST["delete"])):
                item.delete()
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, "Rubric item deleted.")
        return redirect("assignment_edit", course_code=course_code, slug=slug)
    form = RubricItemForm(request.POST, instance=assignment.rubric_items.model(assignment=assignment))
    if form.is_valid():
        if assignment.rubric_items.filter(name=form.cleaned_data["name"]).exists():
            form.add_error("name", "This rubric already has an item with that name.")
        else:
            form.save()
            messages.success(request, f"Rubric item “{form.instance.name}” added.")
            return redirect("assignment_edit", course_code=course_code, slug=slug)
    return _edit_page(request, membership, assignment, AssignmentForm(instance=assignment), form)


@login_required
@require_POST
def statement_preview(request, course_code):
    """The statement as students will see it: the same Markdown renderer and sanitiser as the
    assignment page (courses.markdown.render), as an HTML fragment for the authoring form."""
    access.require(request.user, course_code, Cap.AUTHOR)
    html = render_markdown(request.POST.get("statement", ""))
    return HttpResponse(html or '<p class="muted">The statement is empty.</p>')
