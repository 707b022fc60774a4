"""Saving an assignment (the authoring form and the REST API: one service, the model's one set
of rules), replacing it with its tests in one step (the API), deleting and archiving it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from courses.models import Assignment, Course, TestCase, free_slug

__all__ = [
    "AUTHORED_FIELDS",
    "FILE_FIELDS",
    "AssignmentInUse",
    "delete_assignment",
    "do_save_assignment",
    "free_slug",
    "save_assignment",
    "set_assignment_archived",
]

# The settings an author gives an assignment. The authoring form and the API (what it takes and
# what it reads back to authors) are built from this one list, so that a setting cannot exist on
# one surface and not the other; tests/test_authoring.py checks that every field of the model is
# here, in FILE_FIELDS or deliberately not authored.
AUTHORED_FIELDS = (
    "title",
    "slug",
    "statement",
    "module_name",
    "setup_code",
    "setup_scope",
    "equality",
    "deadline",
    "hard_deadline",
    "late_policy",
    "late_penalty_percent",
    "late_penalty_unit",
    "late_penalty_cap_percent",
    "attempt_limit",
    "min_seconds_between_attempts",
    "counted_submission",
    "count_broken_attempts",
    "memory_mb",
    "cpus",
    "pids_limit",
    "wall_seconds",
    "llm_hints",
    "validate_hints",
    "hint_candidates",
    "hint_critic",
    "rubric_auto_approve",
    "show_hidden_details",
)
# The files ({name: text}), authored too but shown each surface's own way: the form has one code
# box for the main file of each, the API takes and gives the dicts.
FILE_FIELDS = ("starter_files", "reference_files")


class AssignmentInUse(Exception):
    """The assignment has submissions, so it is archived rather than deleted; nothing changed."""

    def __init__(self, submissions: int):
        self.submissions = submissions
        super().__init__(
            f"This assignment has {submissions} submission{'s' if submissions != 1 else ''}: "
            "deleting it would delete them and their grades. Archive it instead: it then takes no "
            "submissions and students no longer see it, while its submissions and grades stay."
        )


@transaction.atomic
def save_assignment(assignment: Assignment) -> Assignment:
    """Validate (Assignment.clean and the fields' own rules) and save. Raises ValidationError
    with per-field messages, nothing saved."""
    assignment.full_clean()
    assignment.save()
    return assignment


@transaction.atomic
def do_save_assignment(course: Course, data: dict, slug: str | None = None):
    """Create (slug None) or replace an assignment and its tests, through save_assignment.
    An empty or missing slug on creation is made from the title (free_slug). Raises django
    ValidationError (nothing saved) with per-field messages."""
    tests = data.pop("tests")
    if slug is None:
        if not data.get("slug"):
            data["slug"] = free_slug(course, data.get("title", "")) or ""
        assignment = Assignment(course=course)
    else:
        assignment = Assignment.objects.select_for_update().get(course=course, slug=slug)
    for field, value in data.items():
        setattr(assignment, field, value)
    save_assignment(assignment)
    assignment.tests.all().delete()
    names = [t["name"] for t in tests]
    if len(names) != len(set(names)):
        raise ValidationError({"tests": ["Test names must be unique."]})
    for order, test in enumerate(tests):
        case = TestCase(assignment=assignment, order=order, **test)
        try:
            case.full_clean(exclude=["assignment"])
        except ValidationError as exc:
            raise ValidationError({"tests": [f"{test['name']}: {m}" for m in exc.messages]}) from None
        case.save()
    return assignment


@transaction.atomic
def delete_assignment(assignment: Assignment) -> None:
    """Delete an assignment that no student has submitted to, with its tests and rubric.
    Raises AssignmentInUse (nothing deleted) when it has submissions: archive those instead,
    as Gradescope and PrairieLearn keep graded work. The row lock closes the race with a
    submission being stored: PostgreSQL's foreign-key check on the new submission takes a key
    share lock on this row, so one of the two waits for the other."""
    Assignment.objects.select_for_update().filter(pk=assignment.pk).first()
    submissions = assignment.submissions.count()
    if submissions:
        raise AssignmentInUse(submissions)
    assignment.delete()


def set_assignment_archived(assignment: Assignment, archived: bool) -> Assignment:
    """Archive (no submissions, hidden from students; submissions and grades stay) or restore.
    Raises ValidationError (nothing changed) in an archived course: all of it is read-only, and
    what its instructors may still do there (Cap.ARCHIVE) is restoring the course itself."""
    if assignment.course.archived_at is not None:
        raise ValidationError(
            f"The course {assignment.course.code} is archived: restore the course before archiving "
            "or restoring one of its assignments."
        )
    assignment.archived_at = (assignment.archived_at or timezone.now()) if archived else None
    assignment.save(update_fields=["archived_at", "updated_at"])
    return assignment
