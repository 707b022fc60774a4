"""Saving an assignment with its tests in one step (the REST API's create and replace), and
the slug a new assignment gets from its title."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from courses.models import Assignment, Course, TestCase


@transaction.atomic
def do_save_assignment(course: Course, data: dict, slug: str | None = None):
    """Create (slug None) or replace an assignment and its tests, validated like the admin does.
    Raises django ValidationError (nothing saved) with per-field messages."""
    tests = data.pop("tests")
    if slug is None:
        if Assignment.objects.filter(course=course, slug=data["slug"]).exists():
            raise ValidationError({"slug": [f"{data['slug']!r} already exists in {course.code}."]})
        assignment = Assignment(course=course)
    else:
        assignment = Assignment.objects.select_for_update().get(course=course, slug=slug)
    for field, value in data.items():
        setattr(assignment, field, value)
    assignment.full_clean()
    assignment.save()
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


def free_slug(course: Course, title: str, exclude_pk: int | None = None) -> str:
    """A slug made from ``title`` (django's slugify) that no other assignment of the course
    uses: the slugified title, else it with -2, -3... appended. Empty when the title has no
    letter or digit to make one from."""
    max_length = Assignment._meta.get_field("slug").max_length
    base = slugify(title)[:max_length].strip("-_")
    if not base:
        return ""
    taken = set(
        Assignment.objects.filter(course=course).exclude(pk=exclude_pk).values_list("slug", flat=True)
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: max_length - len(suffix)].rstrip("-_") + suffix
    return slug
