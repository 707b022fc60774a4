"""Course staff's LMS page: the grades sent back (state, errors, "send again") and the roster
sync from the LMS. Every check is the policy's (courses.policy, through courses.access)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from courses import access
from courses.policy import Cap, role_capabilities
from lti import ags, nrps
from lti.models import AssignmentLink, CourseLink
from lti.service_models import GradePassback


@login_required
def course_lms(request, course_code: str):
    """The LMS grade columns of the course, every student's last passback, and roster syncs."""
    membership = access.require(request.user, course_code, Cap.VIEW_GRADES)
    course = membership.course
    links = AssignmentLink.objects.filter(assignment__course=course).select_related(
        "assignment", "resource_link__context"
    )
    passbacks = (
        GradePassback.objects.filter(link__in=links)
        .select_related("student", "link__assignment")
        .order_by("link__assignment__title", "student__username")
    )
    course_links = CourseLink.objects.filter(course=course).select_related("context", "roster_sync")
    context = {
        "course": course,
        "links": links,
        "passbacks": passbacks,
        "course_links": course_links,
        "can_send": Cap.GRADE in role_capabilities(membership.role),
        "can_sync": Cap.MANAGE_PEOPLE in role_capabilities(membership.role),
    }
    return render(request, "lti/course_lms.html", context)


@login_required
@require_POST
def send_again(request, course_code: str, passback_id: int):
    membership = access.require(request.user, course_code, Cap.GRADE)
    passback = get_object_or_404(GradePassback, pk=passback_id, link__assignment__course=membership.course)
    ags.send_again(passback, request.user)
    messages.success(request, f"The grade of {passback.student.get_username()} will be sent again.")
    return redirect("lti:course_lms", course_code=course_code)


@login_required
@require_POST
def sync_roster(request, course_code: str, course_link_id: int):
    membership = access.require(request.user, course_code, Cap.MANAGE_PEOPLE)
    course_link = get_object_or_404(CourseLink, pk=course_link_id, course=membership.course)
    try:
        nrps.request_sync(course_link, request.user)
    except nrps.SyncRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, "The roster will be synced from the LMS in a moment.")
    return redirect("lti:course_lms", course_code=course_code)
