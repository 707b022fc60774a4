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
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

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

    - An unknown e-mail creates an account (no usable password: they sign in through the LMS or
      reset it by e-mail). A known one is enrolled as it is.
    - Names and e-mail addresses are updated only on accounts that belong to this course
      alone; shared accounts keep theirs (counted in ``unchanged_shared_accounts``), and so
      does the address of an account someone has claimed (see _claimed).
    - Nobody is removed (an LMS export may be partial). The course keeps an instructor.
    - Two entries for the same person (the same e-mail, external id or account) are refused.
    All or nothing: one transaction; RosterRejected leaves the roster as it was.

    Set-based, whatever the class size: a fixed number of queries (lookups by sets of ids and
    addresses, bulk inserts and updates), so an LMS's 5,000 students take seconds, not minutes.
    """
    Course.objects.select_for_update().get(pk=course.pk)  # one roster change of a course at a time
    for entry in entries:
        _check_role(entry["role"])
    _refuse_duplicates(entries)
    by_external = _memberships_by_external_id(course, entries)
    by_email = _accounts_by_email(entry["email"] for entry in entries)
    users = [_match(entry, by_external, by_email) for entry in entries]
    created = _create_accounts(entries, users)
    shared = _update_accounts(course, entries, users, by_email)
    updated = _upsert_memberships(course, entries, users)
    _ensure_an_instructor(course)
    return {
        "created_users": created,
        "updated_memberships": updated,
        "unchanged_shared_accounts": shared,
        "total": len(entries),
    }


def _refuse_duplicates(entries: list[dict]) -> None:
    seen: dict[tuple[str, str], int] = {}
    for number, entry in enumerate(entries, start=1):
        keys = [("e-mail address", entry["email"].lower())]
        if entry.get("external_id"):
            keys.append(("external id", entry["external_id"]))
        for key in keys:
            if key in seen:
                raise RosterRejected(
                    f"Entries {seen[key]} and {number} have the same {key[0]} {key[1]!r}: "
                    "send each person once. Nothing was changed."
                )
            seen[key] = number


def _memberships_by_external_id(course: Course, entries: list[dict]) -> dict[str, Membership]:
    wanted = {entry["external_id"] for entry in entries if entry.get("external_id")}
    found = Membership.objects.filter(course=course, external_id__in=wanted).select_related("user")
    return {membership.external_id: membership for membership in found}


def _accounts_by_email(emails) -> dict[str, list]:
    """Accounts by lower-cased e-mail address (several when an installation lets them share one)."""
    wanted = {email.lower() for email in emails}
    accounts: dict[str, list] = {}
    found = get_user_model().objects.annotate(email_lower=Lower("email")).filter(email_lower__in=wanted)
    for user in found.order_by("pk"):
        accounts.setdefault(user.email_lower, []).append(user)
    return accounts


def _match(entry: dict, by_external: dict[str, Membership], by_email: dict[str, list]):
    """The entry's account: this course's member with its external id, else the one account with
    its e-mail address (see account_with_email), else None (a new account)."""
    membership = by_external.get(entry.get("external_id") or "")
    if membership is not None:
        return membership.user
    accounts = by_email.get(entry["email"].lower(), [])
    if len(accounts) > 1:
        raise RosterRejected(_SEVERAL.format(email=entry["email"]))
    return accounts[0] if accounts else None


def _create_accounts(entries: list[dict], users: list) -> int:
    """New accounts for the entries without one, in one insert, with an unusable password:
    nothing is hashed (Django's marker for "no password" is a random string behind "!")."""
    User = get_user_model()
    missing = [i for i, user in enumerate(users) if user is None]
    wanted = [entries[i].get("username") or entries[i]["email"] for i in missing]
    names = _free_usernames(wanted)
    new = []
    for i, name in zip(missing, names, strict=True):
        entry = entries[i]
        user = User(
            username=User.normalize_username(name),
            email=User.objects.normalize_email(entry["email"]),
            first_name=entry.get("first_name", ""),
            last_name=entry.get("last_name", ""),
        )
        user.set_unusable_password()
        new.append(user)
    User.objects.bulk_create(new, batch_size=1000)
    for i, user in zip(missing, new, strict=True):
        users[i] = user
    return len(new)


def _update_accounts(course: Course, entries: list[dict], users: list, by_email: dict[str, list]) -> int:
    """Apply names and addresses to accounts of this course alone; returns how many shared
    accounts kept theirs. Raises RosterRejected when an address belongs to another account."""
    User = get_user_model()
    if len({user.pk for user in users}) != len(users):
        raise RosterRejected(
            "Two entries match the same account (one by external id, one by e-mail address); "
            "send each person once. Nothing was changed."
        )
    shared_ids = set(
        Membership.objects.filter(user__in=[user.pk for user in users])
        .exclude(course=course)
        .values_list("user_id", flat=True)
    )
    changed, shared = [], 0
    for entry, user in zip(entries, users, strict=True):
        changes = {f: entry[f] for f in ("first_name", "last_name") if entry.get(f)}
        changes["email"] = entry["email"]
        changes = {f: v for f, v in changes.items() if getattr(user, f) != v}
        if "email" in changes and changes["email"].lower() == user.email.lower():
            del changes["email"]  # the same address, written differently
        if "email" in changes and any(
            other.pk != user.pk for other in by_email.get(changes["email"].lower(), [])
        ):
            raise RosterRejected(
                f"{changes['email']} already belongs to another account; nothing was changed."
            )
        if not changes:
            continue
        if user.is_staff or user.is_superuser or user.pk in shared_ids:
            shared += 1
            continue
        if "email" in changes and _claimed(user):
            del changes["email"]  # the address a password reset goes to is its owner's
            shared += 1
            if not changes:
                continue
        for field, value in changes.items():
            setattr(user, field, value)
        changed.append(user)
    User.objects.bulk_update(changed, ["first_name", "last_name", "email"], batch_size=1000)
    return shared


def _claimed(user) -> bool:
    """Whether a person has taken the account (set a password, or signed in): from then on its
    e-mail address is theirs, since a password reset sent there hands over the account. A
    course re-addresses only the accounts a roster created and nobody has used yet."""
    return user.has_usable_password() or user.last_login is not None


def _upsert_memberships(course: Course, entries: list[dict], users: list) -> int:
    """Enrol or change roles and external ids in one insert and one update; returns how many
    people were members already."""
    existing = {
        m.user_id: m for m in Membership.objects.filter(course=course, user__in=[u.pk for u in users])
    }
    new, changed = [], []
    for entry, user in zip(entries, users, strict=True):
        membership = existing.get(user.pk)
        external_id = entry.get("external_id") or (membership.external_id if membership else "")
        if membership is None:
            new.append(Membership(course=course, user=user, role=entry["role"], external_id=external_id))
        elif (membership.role, membership.external_id) != (entry["role"], external_id):
            membership.role, membership.external_id = entry["role"], external_id
            changed.append(membership)
    try:
        with transaction.atomic():  # a savepoint: the error below is the whole sync's answer
            Membership.objects.bulk_update(changed, ["role", "external_id"], batch_size=1000)
            Membership.objects.bulk_create(new, batch_size=1000)
    except IntegrityError:
        raise RosterRejected(
            "An external id would belong to two people of this course; nothing was changed."
        ) from None
    return len(existing)


def account_with_email(email: str):
    """The one account with this e-mail address (any case), or None. E-mail addresses are not
    unique on every installation: when several accounts share one, the roster refuses to guess
    (enrolling the wrong person would hand them the course)."""
    accounts = list(get_user_model().objects.filter(email__iexact=email)[:2])
    if len(accounts) > 1:
        raise RosterRejected(_SEVERAL.format(email=email))
    return accounts[0] if accounts else None


_SEVERAL = (
    "Several accounts use the e-mail address {email}; add the right one by username on the "
    "people page. Nothing was changed."
)


def find_account(who: str):
    """An account by e-mail when ``who`` is an address (see account_with_email), else by exact
    username; or None. An address is never looked up as a username: a roster sync chooses
    usernames, and one named after someone else's address would be found in their place."""
    if "@" in who:
        return account_with_email(who)
    return get_user_model().objects.filter(username=who).first()


def _free_usernames(wanted: list[str]) -> list[str]:
    """Usernames made from ``wanted`` (e-mail addresses or chosen names) that no account uses
    and that differ from each other: the name, else it with 2, 3... appended. One query per
    round of clashes, not one per name."""
    bases = [re.sub(r"[^\w.@+-]", "", name)[:140] or "user" for name in wanted]
    names, counters = list(bases), [1] * len(bases)
    reserved: set[str] = set()
    pending = list(range(len(bases)))
    while pending:
        candidates = [names[i] for i in pending]
        taken = set(
            get_user_model().objects.filter(username__in=candidates).values_list("username", flat=True)
        )
        clashes = []
        for i in pending:
            if names[i] in taken or names[i] in reserved:
                clashes.append(i)
            else:
                reserved.add(names[i])
        for i in clashes:
            while names[i] in taken or names[i] in reserved:
                counters[i] += 1
                names[i] = f"{bases[i]}{counters[i]}"
        pending = clashes
    return names
