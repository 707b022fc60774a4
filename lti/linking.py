"""What a launch opens: the course an LMS context is linked to, the assignment a resource link
opens, and the person's role there (always set through the roster, ``courses.roster``).

A context that is not linked yet: an instructor (per the LMS) links it, on the page the launch
leads them to, to a course they manage here or to a new course made for it; anyone else is told
that their instructor has not set the tool up yet. A resource link that is not linked yet opens
the assignment named by its ``assignment`` custom parameter (put there by deep linking), or an
instructor picks one. A link never reaches a course other than the one its context is linked
to: such a launch is refused.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from decimal import Decimal
from uuid import uuid4

from django.db import transaction
from lti_tool.models import LtiContext, LtiLaunch, LtiResourceLink, LtiUser

from courses import policy, roster
from courses.models import Assignment, Course, Role
from courses.policy import Cap
from lti.launch import LaunchRefused, course_role
from lti.models import AssignmentLink, CourseLink

log = logging.getLogger(__name__)

ASSIGNMENT_PARAM = "assignment"
NOT_SET_UP = "Your instructor has not set this up in grader yet. Please try again later."


@dataclass
class Placement:
    """Where a launch lands: a course (None: not linked yet) and maybe an assignment."""

    role: str
    course: Course | None
    assignment: Assignment | None = None


def launch_role(launch: LtiLaunch) -> str:
    role = course_role(launch.roles_claim)
    if role is None:
        raise LaunchRefused(
            "Your role in this LMS course gives no access to grader (it needs Learner, "
            "TeachingAssistant or Instructor)."
        )
    return role


def course_of(context: LtiContext) -> Course | None:
    link = CourseLink.objects.filter(context=context).select_related("course").first()
    return link.course if link else None


def enrol(course: Course, user, role: str) -> None:
    """The LMS says which role the person holds; the roster applies it (and refuses to leave the
    course without an instructor)."""
    if policy.role_in(user, course) != role:
        try:
            roster.set_role(course, user, role)
        except roster.RosterRejected as error:
            raise LaunchRefused(" ".join(error.messages)) from error


def place_resource_launch(launch: LtiLaunch, user) -> Placement:
    """Where a resource-link launch lands (see the module's docstring). Enrols the person.
    Raises LaunchRefused."""
    role = launch_role(launch)
    course = course_of(launch.context)
    if course is None:
        if role != Role.INSTRUCTOR:
            raise LaunchRefused(NOT_SET_UP, status=409)
        return Placement(role, None)
    link = _assignment_link(launch, course)
    enrol(course, user, role)
    if link is None:
        if role != Role.INSTRUCTOR:
            raise LaunchRefused(NOT_SET_UP, status=409)
        return Placement(role, course)
    if not policy.can(user, course, Cap.VIEW_DRAFTS) and not link.assignment.published:
        raise LaunchRefused("Your instructor has not published this assignment yet.", status=409)
    return Placement(role, course, link.assignment)


def _assignment_link(launch: LtiLaunch, course: Course) -> AssignmentLink | None:
    resource_link = launch.resource_link
    link = AssignmentLink.objects.filter(resource_link=resource_link).select_related("assignment").first()
    if link is None:
        wanted = launch.get_custom_claim(ASSIGNMENT_PARAM)
        if not wanted:
            return None
        assignment = _assignment_in(course, wanted)
        return link_assignment(resource_link, assignment, launch.ags_claim)
    if link.assignment.course_id != course.pk:
        raise LaunchRefused("This link opens an assignment of another course; it cannot be opened here.")
    _keep_ags_claim(link, launch.ags_claim)
    return link


def _assignment_in(course: Course, wanted: str) -> Assignment:
    assignment = Assignment.objects.filter(pk=int(wanted) if wanted.isdigit() else None).first()
    if assignment is None or assignment.course_id != course.pk:
        raise LaunchRefused(
            "This link names an assignment that is not in the course this LMS course is linked to; "
            "it cannot be opened here."
        )
    return assignment


def _ags_fields(ags_claim: dict | None) -> dict:
    claim = ags_claim or {}
    return {
        "lineitems_url": claim.get("lineitems", "") or "",
        "lineitem_url": claim.get("lineitem", "") or "",
        "ags_scopes": list(claim.get("scope", []) or []),
    }


def _keep_ags_claim(link: AssignmentLink, ags_claim: dict | None) -> None:
    fields = _ags_fields(ags_claim)
    if ags_claim is not None and any(getattr(link, f) != v for f, v in fields.items()):
        AssignmentLink.objects.filter(pk=link.pk).update(**fields)
        for name, value in fields.items():
            setattr(link, name, value)


def link_assignment(
    resource_link: LtiResourceLink, assignment: Assignment, ags_claim: dict | None
) -> AssignmentLink:
    """Link a resource link to an assignment of its context's course (refused otherwise)."""
    course = course_of(resource_link.context)
    if course is None or assignment.course_id != course.pk:
        raise LaunchRefused("That assignment is not in the course this LMS course is linked to.")
    link, _ = AssignmentLink.objects.update_or_create(
        resource_link=resource_link, defaults={"assignment": assignment, **_ags_fields(ags_claim)}
    )
    log.info("LTI resource link %s opens assignment %s", resource_link.pk, assignment.pk)
    return link


@transaction.atomic
def link_course(context: LtiContext, course: Course, user, role: str) -> CourseLink:
    """Link an LMS context to a course the person may link (``policy.can_link_lms_course``)."""
    if role != Role.INSTRUCTOR or not policy.can_link_lms_course(user, course):
        raise LaunchRefused("Only an instructor of both courses may link them.")
    link, created = CourseLink.objects.get_or_create(
        context=context, defaults={"course": course, "linked_by": user}
    )
    if not created and link.course_id != course.pk:
        raise LaunchRefused("This LMS course is already linked to another course.")
    return link


@transaction.atomic
def create_course_for(context: LtiContext, user, role: str) -> CourseLink:
    """A new course for an LMS context, its LMS instructor its instructor (the LMS vouches for
    their role in it, as it does for every launch)."""
    if role != Role.INSTRUCTOR:
        raise LaunchRefused("Only the LMS course's instructor may create its course here.")
    if CourseLink.objects.filter(context=context).exists():
        raise LaunchRefused("This LMS course is already linked to a course.")
    base = re.sub(r"[^a-z0-9-]+", "-", (context.label or context.title or "lms-course").lower()).strip("-")[
        :40
    ]
    course = Course.objects.create(
        code=f"{base or 'lms-course'}-{uuid4().hex[:6]}",
        title=(context.title or context.label or "LMS course")[:200],
    )
    roster.set_role(course, user, Role.INSTRUCTOR)
    return CourseLink.objects.create(context=context, course=course, linked_by=user)


@transaction.atomic
def connect_account(lti_user: LtiUser, user) -> None:
    """The person launching proved (by signing in) that this existing account is theirs: their
    LTI identity signs in as it from now on. Refused for the site's administrators (an LMS must
    not hold the keys to the whole site) and for an account another person of this LMS uses."""
    if user.is_superuser or user.is_staff:
        raise LaunchRefused("An administrator's account cannot be used through an LMS.")
    issuer = lti_user.registration.issuer
    if LtiUser.objects.filter(registration__issuer=issuer, auth_user=user).exclude(sub=lti_user.sub).exists():
        raise LaunchRefused("That account is already used by another person of this LMS.")
    LtiUser.objects.filter(registration__issuer=issuer, sub=lti_user.sub).update(auth_user=user)


def courses_to_link(user):
    """The courses the person could link an LMS course to."""
    return [
        m.course
        for m in user.memberships.select_related("course")
        if policy.can_link_lms_course(user, m.course)
    ]


def score_maximum(assignment: Assignment) -> float:
    """What the LMS's grade column is out of: the tests' points and the rubric's (a score can reach both)."""
    rubric = sum((r.max_points for r in assignment.rubric_items.all()), Decimal(0))
    return float(assignment.max_points + rubric)
