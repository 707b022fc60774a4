"""The roster sync is set-based: a class of 5,000 takes a handful of queries per thousand
people (bulk inserts and updates), not several per person, and every roster rule (shared
accounts, duplicate addresses, the last instructor) still holds. Its speed is measured by
bench/roster.py, not here."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from courses.models import Course, Membership, Role
from courses.roster import RosterRejected, sync_roster

pytestmark = pytest.mark.django_db
User = get_user_model()


def _class(n: int, prefix: str = "s") -> list[dict]:
    return [
        {
            "email": f"{prefix}{i}@example.edu",
            "external_id": f"lms-{i}",
            "first_name": f"F{i}",
            "role": "student",
        }
        for i in range(n)
    ]


def test_it_syncs_5000_people_in_a_fixed_number_of_queries(course, django_assert_max_num_queries):
    entries = _class(5000)
    with django_assert_max_num_queries(30):
        result = sync_roster(course, entries)
    assert result == {
        "created_users": 5000,
        "updated_memberships": 0,
        "unchanged_shared_accounts": 0,
        "total": 5000,
    }
    assert (
        Membership.objects.filter(course=course, role=Role.STUDENT, external_id__startswith="lms-").count()
        == 5000
    )
    made = User.objects.get(email="s4999@example.edu")
    assert made.first_name == "F4999" and not made.has_usable_password()
    with django_assert_max_num_queries(30):
        again = sync_roster(course, entries)
    assert again["created_users"] == 0 and again["updated_memberships"] == 5000


def test_a_second_sync_changes_roles_names_and_addresses_in_bulk(course):
    sync_roster(course, _class(50))
    changed = _class(50)
    changed[3].update(role="ta", email="moved@example.edu", first_name="Renamed")
    result = sync_roster(course, changed)
    member = Membership.objects.select_related("user").get(course=course, external_id="lms-3")
    assert result["created_users"] == 0 and result["updated_memberships"] == 50
    assert member.role == Role.TA and member.user.email == "moved@example.edu"
    assert member.user.first_name == "Renamed"


def test_new_usernames_never_clash_with_existing_ones_or_each_other(course, people):
    User.objects.create_user("ada@example.edu", "someone-else@example.edu", None)
    sync_roster(
        course,
        [
            {"email": "ada@example.edu", "role": "student"},
            {"email": "ada2@example.edu", "username": "ada@example.edu", "role": "student"},
            {"email": "x@example.edu", "username": "alice", "role": "student"},
        ],
    )
    names = set(
        User.objects.filter(email__in=["ada@example.edu", "ada2@example.edu"]).values_list(
            "username", flat=True
        )
    )
    assert names == {"ada@example.edu2", "ada@example.edu3"}
    assert User.objects.get(email="x@example.edu").username == "alice2"


@pytest.mark.parametrize(
    "entries, message",
    [
        (
            [{"email": "a@example.edu", "role": "student"}, {"email": "A@example.edu", "role": "ta"}],
            "Entries 1 and 2 have the same e-mail address",
        ),
        (
            [
                {"email": "a@example.edu", "external_id": "x", "role": "student"},
                {"email": "b@example.edu", "external_id": "x", "role": "student"},
            ],
            "the same external id 'x'",
        ),
        (
            # bob is matched by his external id and again by his address.
            [
                {"email": "new@example.edu", "external_id": "bob-1", "role": "student"},
                {"email": "bob@example.edu", "role": "ta"},
            ],
            "match the same account",
        ),
    ],
)
def test_the_same_person_twice_is_refused_whole(course, people, entries, message):
    Membership.objects.filter(course=course, user=people["bob"]).update(external_id="bob-1")
    before = set(Membership.objects.values_list("user_id", "course_id", "role", "external_id"))
    with pytest.raises(RosterRejected, match=message):
        sync_roster(course, entries)
    assert set(Membership.objects.values_list("user_id", "course_id", "role", "external_id")) == before
    assert not User.objects.filter(email__in=["a@example.edu", "new@example.edu"]).exists()


def test_a_bulk_sync_that_would_leave_no_instructor_creates_nobody(course, people):
    entries = [*_class(100), {"email": "instructor@example.edu", "role": "student"}]
    with pytest.raises(RosterRejected, match="at least one instructor"):
        sync_roster(course, entries)
    assert not User.objects.filter(email="s0@example.edu").exists()
    assert Membership.objects.get(course=course, user=people["instructor"]).role == Role.INSTRUCTOR


def test_a_shared_account_keeps_its_name_in_a_bulk_sync(course, people):
    other = Course.objects.create(code="cs2", title="CS 2")
    Membership.objects.create(course=other, user=people["alice"], role=Role.STUDENT)
    result = sync_roster(
        course, [*_class(10), {"email": "alice@example.edu", "first_name": "X", "role": "ta"}]
    )
    people["alice"].refresh_from_db()
    assert result["unchanged_shared_accounts"] == 1 and people["alice"].first_name == ""
    assert Membership.objects.get(course=course, user=people["alice"]).role == Role.TA
