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
