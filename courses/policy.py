"""Who may do what in a course: the one permission policy of the site and the API.

A course role grants a set of capabilities. Every surface asks this module:

- the site's pages, through ``courses.access`` (anything not allowed is a 404, so pages never
  reveal what exists);
- the REST API with a browser session: exactly the caller's role's capabilities;
- the REST API with a token: the capabilities its scopes name, and never more than its creator's
  role in that course grants (a token minted by an instructor who is now a TA loses what a TA
  may not do). Tokens never manage tokens.

Instructor only: people and roles, tokens, webhooks, authoring (assignments, tests, rubric,
course settings), publishing, bulk regrades. Teaching assistants see everyone's work and
grades, grade (overrides, rubric decisions, one-submission regrades) and run reference checks.
Students see the course's published assignments and submit their own work.

An archived course is read-only for everyone: what remains is reading (the course, its
assignments, submissions and grades) and, for instructors, restoring it (``ARCHIVE``). An
archived assignment takes no submissions and students no longer see it in lists
(``closed_reason``, asked by the submit service whatever the surface), and its grades no longer
change (``frozen_reason``, asked by the regrade, override and rubric services).

Creating courses is a platform-wide right, not a course role: people with Django's
``courses.add_course`` permission (given in the admin; superusers have it) and tokens with the
``courses`` scope made by such a person (``may_create_courses``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from courses.models import Assignment, Course, Membership, Role


class Cap(StrEnum):
    VIEW_COURSE = "view_course"  # the course and its published assignments
    SUBMIT = "submit"  # one's own work
    VIEW_DRAFTS = "view_drafts"  # unpublished assignments, every test, the reference solution
    VIEW_SUBMISSIONS = "view_submissions"  # everyone's submissions (as their students see them)
    SEE_HIDDEN_DETAILS = "see_hidden_details"  # what hidden tests gave and got
    VIEW_GRADES = "view_grades"  # gradebook, its CSV, analytics, the API's grades
    GRADE = "grade"  # overrides, rubric decisions, regrading one submission
    CHECK_REFERENCE = "check_reference"  # run the tests against the reference solution
    SUBMIT_FOR_STUDENTS = "submit_for_students"  # an integration submits a student's work
    AUTHOR = "author"  # assignments, tests, rubric items, course settings
    PUBLISH = "publish"
    BULK_REGRADE = "bulk_regrade"
    MANAGE_PEOPLE = "manage_people"  # enrol, change roles, import rosters
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_TOKENS = "manage_tokens"
    ARCHIVE = "archive"  # archive or restore the course or one of its assignments


_STUDENT = frozenset({Cap.VIEW_COURSE, Cap.SUBMIT})
_TA = _STUDENT | {
    Cap.VIEW_DRAFTS,
    Cap.VIEW_SUBMISSIONS,
    Cap.SEE_HIDDEN_DETAILS,
    Cap.VIEW_GRADES,
    Cap.GRADE,
    Cap.CHECK_REFERENCE,
}
ROLE_CAPABILITIES: dict[str, frozenset[Cap]] = {
    Role.STUDENT: _STUDENT,
    Role.TA: frozenset(_TA),
    Role.INSTRUCTOR: frozenset(Cap),
}

# What each API token scope can grant at most (then narrowed by the creator's role).
SCOPE_CAPABILITIES: dict[str, frozenset[Cap]] = {
    "read": frozenset({Cap.VIEW_COURSE, Cap.VIEW_DRAFTS, Cap.VIEW_SUBMISSIONS}),
    # Submitting returns the new submission; reading submissions back needs "read".
    "submit": frozenset({Cap.VIEW_COURSE, Cap.SUBMIT_FOR_STUDENTS}),
    "grades": frozenset({Cap.VIEW_COURSE, Cap.VIEW_GRADES}),
    "manage": frozenset(
        {
            Cap.VIEW_COURSE,
            Cap.VIEW_DRAFTS,
            Cap.VIEW_SUBMISSIONS,
            Cap.SEE_HIDDEN_DETAILS,
            Cap.AUTHOR,
            Cap.PUBLISH,
            Cap.GRADE,
            Cap.BULK_REGRADE,
            Cap.MANAGE_PEOPLE,
            Cap.MANAGE_WEBHOOKS,
            Cap.ARCHIVE,
        }
    ),
    # Create courses (only if the token's owner may: may_create_courses); a course it creates
    # joins the token's courses, where its other scopes apply.
    "courses": frozenset(),
}
NOTHING: frozenset[Cap] = frozenset()
# What an archived course still allows.
READ_ONLY: frozenset[Cap] = frozenset(
    {
        Cap.VIEW_COURSE,
        Cap.VIEW_DRAFTS,
        Cap.VIEW_SUBMISSIONS,
        Cap.SEE_HIDDEN_DETAILS,
        Cap.VIEW_GRADES,
        Cap.ARCHIVE,
    }
)


def role_capabilities(role: str | None) -> frozenset[Cap]:
    return ROLE_CAPABILITIES.get(role, NOTHING) if role else NOTHING


def role_in(user, course: Course | int) -> str | None:
    """The user's role in the course, or None (not a member, anonymous)."""
    if user is None or not getattr(user, "is_authenticated", False) or user.pk is None:
        return None
    course_id = course if isinstance(course, int) else course.pk
    return Membership.objects.filter(user=user, course_id=course_id).values_list("role", flat=True).first()


def in_force(caps: frozenset[Cap], course: Course | int) -> frozenset[Cap]:
    """``caps`` as the course's state allows them: only READ_ONLY ones in an archived course."""
    if not caps:
        return caps
    if isinstance(course, Course):
        archived = course.archived_at is not None
    else:
        archived = Course.objects.filter(pk=course, archived_at__isnull=False).exists()
    return caps & READ_ONLY if archived else caps


def user_capabilities(user, course: Course | int) -> frozenset[Cap]:
    """A person's capabilities in a course (site pages and the API with a session)."""
    return in_force(role_capabilities(role_in(user, course)), course)


def membership_capabilities(membership: Membership) -> frozenset[Cap]:
    """What the member may do in the membership's course (pages, which have the membership)."""
    return in_force(role_capabilities(membership.role), membership.course)


def token_capabilities(scopes: Iterable[str], creator, course: Course | int) -> frozenset[Cap]:
    """A token's capabilities in one of its courses: its scopes, narrowed by what its creator
    may do there now. A superuser's token (made with the ``create_api_token`` command) is
    narrowed by the instructor role."""
    if not getattr(creator, "is_active", False):
        return NOTHING  # a deactivated account's tokens stop with it
    granted = frozenset().union(*(SCOPE_CAPABILITIES.get(s, NOTHING) for s in scopes))
    ceiling = (
        ROLE_CAPABILITIES[Role.INSTRUCTOR]
        if getattr(creator, "is_superuser", False)
        else user_capabilities(creator, course)
    )
    return in_force(granted & ceiling - {Cap.MANAGE_TOKENS}, course)


def may_create_courses(user, scopes: Iterable[str] | None = None) -> bool:
    """Whether ``user`` may create courses (becoming their instructor); with ``scopes``, whether
    a token of theirs with those scopes may."""
    if scopes is not None and "courses" not in scopes:
        return False
    return bool(getattr(user, "is_active", False) and user.has_perm("courses.add_course"))


def closed_reason(assignment: Assignment) -> str | None:
    """Why the assignment takes no submission now (archived, or its course is), or None."""
    if assignment.course.archived_at is not None:
        return f"The course {assignment.course.code} is archived: it takes no more submissions."
    if assignment.archived_at is not None:
        return "This assignment is archived: it takes no more submissions."
    return None


def frozen_reason(assignment: Assignment) -> str | None:
    """Why the assignment's grades may not change now (regrades, overrides, rubric decisions,
    asked by each grading service whatever the surface), or None. An archived course has no
    GRADE capability at all; an archived assignment of a live course keeps its grades as they
    were when it was archived."""
    if assignment.course.archived_at is not None:
        return f"The course {assignment.course.code} is archived: its grades are read-only."
    if assignment.archived_at is not None:
        return "This assignment is archived: its grades are read-only (restore it first)."
    return None


def can(user, course: Course | int, cap: Cap) -> bool:
    return cap in user_capabilities(user, course)


def staff_course_ids(user):
    """Courses where the user sees everyone's submissions (a queryset of ids, for filters)."""
    roles = [role for role, caps in ROLE_CAPABILITIES.items() if Cap.VIEW_SUBMISSIONS in caps]
    return Membership.objects.filter(user=user, role__in=roles).values("course_id")


def can_register_lti_platforms(user) -> bool:
    """An LTI platform registration lets an LMS vouch for who its people are and what role they
    hold in every course linked to it: the site's administrators alone add one."""
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def can_link_lms_course(user, course: Course | int) -> bool:
    """Linking an LMS course to a course enrols the LMS's people in it: whoever manages the
    course's people may link it."""
    return can(user, course, Cap.MANAGE_PEOPLE)
