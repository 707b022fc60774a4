"""The roster: who is in a course and with which role, for every surface (the people page, its
CSV import, the REST API, LMS syncs). CSV columns: email (required), external_id, username,
first_name, last_name, role (student, ta or instructor; default student)."""

from __future__ import annotations

import csv
import io
import re

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from courses.models import Course, Membership, Role

COLUMNS = ("email", "external_id", "username", "first_name", "last_name", "role")
MAX_ROWS = 5000


def parse_roster(data: bytes) -> list[dict]:
    """Rows ready for sync_roster; raises ValidationError naming the line of the first problem."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("The file is not UTF-8 text (export it as CSV UTF-8).") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        raise ValidationError("The first line must name the columns, including 'email'.")
    rows = []
    for line, raw in enumerate(reader, start=2):
        row = {
            k.strip().lower(): (v or "").strip() for k, v in raw.items() if k and k.strip().lower() in COLUMNS
        }
        try:
            validate_email(row.get("email", ""))
        except ValidationError:
            raise ValidationError(f"Line {line}: {row.get('email')!r} is not an e-mail address.") from None
        role = row.get("role") or Role.STUDENT
        if role not in Role.values:
            raise ValidationError(f"Line {line}: role must be student, ta or instructor, not {role!r}.")
        rows.append({**{k: v for k, v in row.items() if v}, "role": role})
        if len(rows) > MAX_ROWS:
            raise ValidationError(f"At most {MAX_ROWS} people per import.")
    if not rows:
        raise ValidationError("The file has no rows.")
    return rows


# -- the roster service: every change of who is in a course, and with which role ------------
LAST_INSTRUCTOR = "The course needs at least one instructor: make someone else instructor first."


class RosterRejected(ValidationError):
    """The change would break a roster rule; nothing was changed."""


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise RosterRejected(f"Unknown role {role!r}: use student, ta or instructor.")


def _ensure_an_instructor(course: Course) -> None:
    """Checked after every change, inside its transaction: a course never ends without an
    instructor, whoever makes the change (the people page, a CSV import, the API)."""
    if not course.memberships.filter(role=Role.INSTRUCTOR).exists():
        raise RosterRejected(LAST_INSTRUCTOR)


def _course_only(user, course: Course) -> bool:
    """Whether the account belongs to this course alone, so the course may edit it: a course
    never renames (or re-addresses) an account that another course, or the platform's own
    administration, shares."""
    if user.is_staff or user.is_superuser:
        return False
    return not Membership.objects.filter(user=user).exclude(course=course).exists()


@transaction.atomic
def set_role(course: Course, user, role: str) -> Membership:
    """Enrol ``user`` with ``role``, or change their role. Raises RosterRejected (nothing
    changed) for an unknown role or when the course would be left without an instructor."""
    _check_role(role)
    Course.objects.select_for_update().get(pk=course.pk)  # one roster change of a course at a time
    membership, _ = Membership.objects.update_or_create(user=user, course=course, defaults={"role": role})
    _ensure_an_instructor(course)
    return membership


@transaction.atomic
def remove_member(course: Course, user) -> None:
    """Take ``user`` out of the course: they no longer see it, and they leave its roster and
    gradebook. Their submissions, overrides and extensions belong to the account, not to the
    membership, so they stay (staff still see them on the assignments' submissions pages) and
    come back with them if they are added again. Raises RosterRejected (nothing changed) when
    they are not a member or are the course's last instructor."""
    Course.objects.select_for_update().get(pk=course.pk)  # one roster change of a course at a time
    removed, _ = Membership.objects.filter(course=course, user=user).delete()
    if not removed:
        raise RosterRejected(f"{user.get_username()} is not a member of this course.")
    _ensure_an_instructor(course)


@transaction.atomic
def sync_roster(course: Course, entries: list[dict]) -> dict:
    """Upsert people by external id (within this course), else e-mail; set their role.

    - An unknown e-mail creates an account (no password: they sign in through the LMS or a
      reset). A known one is enrolled as it is.
    - Names and e-mail addresses are updated only on accounts that belong to this course
      alone; shared accounts keep theirs (counted in ``unchanged_shared_accounts``).
    - Nobody is removed (an LMS export may be partial). The course keeps an instructor.
    All or nothing: one transaction; RosterRejected leaves the roster as it was.
    """
    User = get_user_model()
    Course.objects.select_for_update().get(pk=course.pk)
    created = updated = shared = 0
    for entry in entries:
        _check_role(entry["role"])
        membership = None
        if entry.get("external_id"):
            membership = (
                Membership.objects.filter(course=course, external_id=entry["external_id"])
                .select_related("user")
                .first()
            )
        user = membership.user if membership else account_with_email(entry["email"])
        if user is None:
            user = User.objects.create_user(
                _free_username(entry.get("username") or entry["email"]), email=entry["email"], password=None
            )
            created += 1
        changes = {f: entry[f] for f in ("first_name", "last_name") if entry.get(f)}
        changes["email"] = entry["email"]
        changes = {f: v for f, v in changes.items() if getattr(user, f) != v}
        if "email" in changes and changes["email"].lower() == user.email.lower():
            del changes["email"]  # the same address, written differently
        if (
            "email" in changes
            and User.objects.filter(email__iexact=changes["email"]).exclude(pk=user.pk).exists()
        ):
            raise RosterRejected(
                f"{changes['email']} already belongs to another account; nothing was changed."
            )
        if changes and _course_only(user, course):
            for field, value in changes.items():
                setattr(user, field, value)
            user.save(update_fields=list(changes))
        elif changes:
            shared += 1
        defaults = {"role": entry["role"]}
        if entry.get("external_id"):
            defaults["external_id"] = entry["external_id"]
        _, made = Membership.objects.update_or_create(user=user, course=course, defaults=defaults)
        updated += 0 if made else 1
    _ensure_an_instructor(course)
    return {
        "created_users": created,
        "updated_memberships": updated,
        "unchanged_shared_accounts": shared,
        "total": len(entries),
    }


def account_with_email(email: str):
    """The one account with this e-mail address (any case), or None. E-mail addresses are not
    unique on every installation: when several accounts share one, the roster refuses to guess
    (enrolling the wrong person would hand them the course)."""
    accounts = list(get_user_model().objects.filter(email__iexact=email)[:2])
    if len(accounts) > 1:
        raise RosterRejected(
            f"Several accounts use the e-mail address {email}; add the right one by username on the "
            "people page. Nothing was changed."
        )
    return accounts[0] if accounts else None


def find_account(who: str):
    """An account by exact username, else by e-mail (see account_with_email), or None."""
    return get_user_model().objects.filter(username=who).first() or account_with_email(who)


def _free_username(wanted: str) -> str:
    User = get_user_model()
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "user"
    name, n = base, 1
    while User.objects.filter(username=name).exists():
        n += 1
        name = f"{base}{n}"
    return name
