"""API-only actions: roster sync and finding the student a token acts for."""

from __future__ import annotations

import re

from django.contrib.auth import get_user_model
from django.db import transaction

from courses.models import Course, Membership


@transaction.atomic
def do_sync_roster(course: Course, entries: list[dict]) -> dict:
    """Upsert people by external id, else e-mail; set their role. Nobody is removed (an LMS
    roster export may be partial). Side effects: users and memberships, atomically."""
    User = get_user_model()
    created = updated = 0
    for entry in entries:
        membership = None
        if entry.get("external_id"):
            membership = Membership.objects.filter(course=course, external_id=entry["external_id"]).first()
        user = membership.user if membership else User.objects.filter(email__iexact=entry["email"]).first()
        if user is None:
            user = User.objects.create_user(
                _free_username(entry.get("username") or entry["email"]), email=entry["email"], password=None
            )
            created += 1
        for field in ("first_name", "last_name"):
            if entry.get(field):
                setattr(user, field, entry[field])
        user.email = entry["email"]
        user.save()
        membership, made = Membership.objects.update_or_create(
            user=user,
            course=course,
            defaults={"role": entry["role"], "external_id": entry.get("external_id") or ""},
        )
        updated += 0 if made else 1
    return {"created_users": created, "updated_memberships": updated, "total": len(entries)}


def _free_username(wanted: str) -> str:
    User = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "user"
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}{n}"
    return name


def find_student(course: Course, who: str):
    """A student of the course by external id or e-mail, or None."""
    membership = (
        Membership.objects.filter(course=course, external_id=who).select_related("user").first()
        or Membership.objects.filter(course=course, user__email__iexact=who).select_related("user").first()
    )
    return membership.user if membership else None


@transaction.atomic
def do_save_assignment(course: Course, data: dict, slug: str | None = None):
    """Create (slug None) or replace an assignment and its tests, validated like the admin does.
    Raises django ValidationError (nothing saved) with per-field messages."""
    from django.core.exceptions import ValidationError

    from courses.models import Assignment, TestCase

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
