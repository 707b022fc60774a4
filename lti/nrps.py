"""The course roster from the LMS (LTI Names and Role Provisioning Services).

``sync_from_lms`` reads every page of the LMS course's members (``context_memberships_url``
of the launches' NRPS claim; pages follow ``Link: <...>; rel="next"``) and applies them through
the one roster service, ``courses.roster``:

- people are matched by their LTI ``sub`` at that LMS's issuer, never by e-mail: a member seen
  for the first time gets the LTI identity and the account a first launch would give them
  (``lti.launch.account_for``: no usable password, names from the LMS);
- roles come from the LTI roles by the launch's own mapping (``lti.launch.course_role``);
  members whose roles grant nothing, and members the LMS marks Inactive or Deleted, are left
  out of the sync;
- ``roster.sync_roster`` enrols them and sets their roles (and the names of accounts that belong
  to this course alone), with the roster's rules: the course keeps an instructor, and a refused
  sync changes nothing. People it cannot find by their own e-mail address (an account with none,
  or one it shares) get their role through ``roster.set_role`` in the same transaction.
- Nobody is removed, as with the API's roster sync: an LMS may list only some sections, and a
  removal there should not delete a student's standing here without a person deciding it.
"""

from __future__ import annotations

import logging

from celery import current_app
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from lti_tool.models import LtiRegistration, LtiUser
from pylti1p3.exception import LtiException
from pylti1p3.names_roles import NamesRolesProvisioningService, TMember

from courses import policy, roster
from lti.connector import connector_for, describe
from lti.launch import account_for, course_role
from lti.models import CourseLink
from lti.service_models import RosterSync

log = logging.getLogger(__name__)

MAX_PAGES = 1000  # an LMS whose "next" never ends does not hold a worker forever


class SyncRefused(Exception):
    """The sync cannot run or was refused by the roster; nothing was changed."""


def request_sync(course_link: CourseLink, by) -> RosterSync:
    """Course staff's "sync the roster now" (policy: managing people). Raises PermissionError,
    SyncRefused when the LMS offers no roster service."""
    if not policy.can(by, course_link.course_id, policy.Cap.MANAGE_PEOPLE):
        raise PermissionError("Only the course's staff who manage people may sync its roster.")
    return _queue(course_link)


def queue_all() -> int:
    links = CourseLink.objects.exclude(context__memberships_url="")
    return sum(1 for link in links if _queue(link))


def _queue(course_link: CourseLink) -> RosterSync:
    if not course_link.memberships_url:
        raise SyncRefused("The LMS offers no roster (Names and Role Provisioning) for this course.")
    with transaction.atomic():
        sync, _ = RosterSync.objects.update_or_create(
            course_link=course_link,
            defaults={"state": RosterSync.State.QUEUED, "requested_at": timezone.now(), "last_error": ""},
        )
        transaction.on_commit(lambda: _enqueue(course_link.pk))
    return sync


def _enqueue(course_link_id: int) -> None:
    try:
        # By name: the task module imports this one.
        current_app.send_task("lti.sync_roster", (course_link_id,))
    except Exception:  # noqa: BLE001 - the periodic sync runs again
        log.exception("could not enqueue a roster sync", extra={"course_link_id": course_link_id})


def run_sync(course_link_id: int) -> dict:
    """The task's body: sync, and record the outcome for course staff."""
    course_link = (
        CourseLink.objects.select_related("course", "context__deployment__registration")
        .filter(pk=course_link_id)
        .first()
    )
    if course_link is None:  # unlinked since the sync was asked for
        return {"error": "the LMS course is no longer linked"}
    try:
        summary = sync_from_lms(course_link)
    except (SyncRefused, LtiException, OSError, roster.RosterRejected) as error:
        message = " ".join(error.messages) if isinstance(error, roster.RosterRejected) else describe(error)
        _finish(course_link, RosterSync.State.FAILED, {}, message)
        return {"error": message}
    _finish(course_link, RosterSync.State.DONE, summary, "")
    return summary


def _finish(course_link: CourseLink, state: str, summary: dict, error: str) -> None:
    RosterSync.objects.update_or_create(
        course_link=course_link,
        defaults={
            "state": state,
            "summary": summary,
            "last_error": error[:2000],
            "finished_at": timezone.now(),
        },
        create_defaults={
            "state": state,
            "summary": summary,
            "last_error": error[:2000],
            "finished_at": timezone.now(),
            "requested_at": timezone.now(),
        },
    )


def fetch_members(course_link: CourseLink) -> list[TMember]:
    """Every member the LMS lists for the course, page after page."""
    registration = course_link.context.deployment.registration
    service = NamesRolesProvisioningService(
        connector_for(registration), {"context_memberships_url": course_link.memberships_url}
    )
    members: list[TMember] = []
    url: str | None = course_link.memberships_url
    for _ in range(MAX_PAGES):
        page, url = service.get_members_page(url)
        members.extend(page)
        if not url:
            return members
    raise SyncRefused(f"The LMS's member list did not end after {MAX_PAGES} pages.")


def sync_from_lms(course_link: CourseLink) -> dict:
    """Fetch the LMS's members and apply them (see the module's docstring). Returns the
    roster's summary with ``skipped`` (no role here, or inactive). Raises RosterRejected."""
    members = fetch_members(course_link)
    registration = course_link.context.deployment.registration
    with transaction.atomic():
        people, skipped, new_accounts = [], 0, 0
        for member in _unique(members):
            role = course_role(member.get("roles"))
            if role is None or member.get("status", "Active") != "Active":
                skipped += 1
                continue
            person = account_for(_identity(registration, member))
            new_accounts += person.created
            people.append((person.user, role, member))
        summary = _apply(course_link, people)
    return {**summary, "new_accounts": new_accounts, "skipped": skipped}


def _unique(members: list[TMember]) -> list[TMember]:
    """One entry per ``sub`` (an LMS may list a person in two sections): the last wins."""
    return list({m["user_id"]: m for m in members if m.get("user_id")}.values())


def _identity(registration: LtiRegistration, member: TMember) -> LtiUser:
    """The member's LTI identity at this registration, made or refreshed from the LMS's data."""
    fields = {
        "given_name": (member.get("given_name") or "")[:500],
        "family_name": (member.get("family_name") or "")[:500],
        "name": (member.get("name") or "")[:500],
        "email": member.get("email") or "",
    }
    lti_user, _ = LtiUser.objects.update_or_create(
        registration=registration, sub=member["user_id"], defaults=fields
    )
    return lti_user


def _apply(course_link: CourseLink, people: list) -> dict:
    """Through the roster service: sync_roster for accounts found by their own address, set_role
    for the others (see the module's docstring)."""
    User = get_user_model()
    course = course_link.course
    entries, by_role = [], []
    for user, role, member in people:
        own_address = user.email and User.objects.filter(email__iexact=user.email).count() == 1
        if not own_address:
            by_role.append((user, role))
            continue
        entry = {"email": user.email, "role": role}
        entry.update({k: member[k][:150] for k in ("given_name", "family_name") if member.get(k)})
        entry["first_name"] = entry.pop("given_name", "")
        entry["last_name"] = entry.pop("family_name", "")
        entries.append({k: v for k, v in entry.items() if v})
    for user, role in by_role:  # first: a new instructor among them may let sync_roster demote one
        roster.set_role(course, user, role)
    summary = roster.sync_roster(course, entries)
    return {"updated_memberships": summary["updated_memberships"], "members": len(people)}
