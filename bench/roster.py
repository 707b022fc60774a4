"""Roster sync benchmark: an LMS sends its whole class in one call.

    python -m bench.roster [--n 5000] [--baseline 500]

On a database of its own (created afresh), it times ``courses.roster.sync_roster`` for N new
people (every account created), then the same N again (every account found, nothing to
change), then a PUT of 5,000 other new people to the API's roster endpoint (in-process through
Django's handler with a token: DRF's validation included, no socket), and, as the baseline, the per-row sync the service replaced (one lookup, one
``create_user`` and one ``update_or_create`` per person) on ``--baseline`` other new people in
the same run. Printed: seconds and members per second of each, and the ratio of the bulk
sync's rate to the per-row one's.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
DB = "grader_bench_roster"


def environment() -> dict:
    return dict(
        os.environ,
        DATABASE_URL=f"postgres://grader:grader@127.0.0.1:5432/{DB}",
        DJANGO_SETTINGS_MODULE="grader.settings",
        LOG_LEVEL="WARNING",
    )


def fresh_database() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB} OWNER grader"):
        subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-qc", sql], check=True)
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment(), check=True)


def members(n: int, prefix: str) -> list[dict]:
    return [
        {
            "email": f"{prefix}{i}@example.edu",
            "external_id": f"{prefix}-{i}",
            "first_name": f"First{i}",
            "last_name": f"Last{i}",
            "role": "student",
        }
        for i in range(n)
    ]


def per_row_sync(course, entries: list[dict]) -> None:
    """The baseline: what the roster sync did before it was made set-based (queries per row)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from courses.models import Membership

    User = get_user_model()
    with transaction.atomic():
        for entry in entries:
            membership = (
                Membership.objects.filter(course=course, external_id=entry["external_id"])
                .select_related("user")
                .first()
            )
            user = (
                membership.user if membership else User.objects.filter(email__iexact=entry["email"]).first()
            )
            if user is None:
                name = entry["email"]
                while User.objects.filter(username=name).exists():
                    name += "x"
                user = User.objects.create_user(name, email=entry["email"], password=None)
            changes = {
                f: entry[f] for f in ("first_name", "last_name", "email") if getattr(user, f) != entry[f]
            }
            if changes and not Membership.objects.filter(user=user).exclude(course=course).exists():
                for field, value in changes.items():
                    setattr(user, field, value)
                user.save(update_fields=list(changes))
            Membership.objects.update_or_create(
                user=user,
                course=course,
                defaults={"role": entry["role"], "external_id": entry["external_id"]},
            )


def timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=5000, help="members per bulk sync (at most 5000)")
    parser.add_argument("--baseline", type=int, default=500, help="members for the per-row baseline")
    args = parser.parse_args(argv)
    os.environ.update(environment())
    fresh_database()
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from api.models import ApiToken
    from courses.models import Course, Membership, Role
    from courses.roster import sync_roster

    teacher = get_user_model().objects.create_superuser("teacher", "teacher@example.edu", None)
    course = Course.objects.create(code="bench", title="Bench")
    Membership.objects.create(course=course, user=teacher, role=Role.INSTRUCTOR)
    baseline_course = Course.objects.create(code="baseline", title="Baseline")
    Membership.objects.create(course=baseline_course, user=teacher, role=Role.INSTRUCTOR)

    roster = members(args.n, "s")
    first = timed(lambda: sync_roster(course, roster))
    again = timed(lambda: sync_roster(course, roster))
    assert Membership.objects.filter(course=course).count() == args.n + 1
    api_course = Course.objects.create(code="api", title="API")
    Membership.objects.create(course=api_course, user=teacher, role=Role.INSTRUCTOR)
    _, token = ApiToken.issue("bench", ["manage"], [api_course], teacher)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    body = {"members": members(args.n, "h")}

    def put() -> None:
        response = client.put("/api/v1/courses/api/roster/", body, format="json")
        assert response.status_code == 200, response.content[:300]

    http = timed(put)
    old = timed(lambda: per_row_sync(baseline_course, members(args.baseline, "b")))

    rows = [
        (f"bulk sync, {args.n} new members", args.n, first),
        (f"bulk sync, the same {args.n} again", args.n, again),
        (f"PUT /roster/ through the API, {args.n} new members", args.n, http),
        (f"per-row sync (baseline), {args.baseline} new members", args.baseline, old),
    ]
    for label, n, seconds in rows:
        print(f"{label:<48} {seconds:8.2f} s  {n / seconds:9.0f} members/s")
    old_rate = args.baseline / old
    print(f"per-row sync, {args.n} new members (extrapolated)   {args.n / old_rate:8.2f} s")
    print(f"ratio, bulk / per-row rate (new members)          {args.n / first / old_rate:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
