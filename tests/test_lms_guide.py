"""The curl examples of docs/lms.md, run for real against a live server, in order: a course,
an assignment with its limits and tests, a roster of 5,002, a submission, everything read back,
then the course archived."""

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from api.models import ApiToken
from courses.models import Assignment, Course, Membership, Role
from grading.models import Submission

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "lms.md"


@pytest.mark.django_db(transaction=True)
def test_every_curl_example_of_the_guide_works(live_server, settings, tmp_path):
    call_command("seed_demo")
    token_text = subprocess.run(
        [
            ".venv/bin/python",
            "manage.py",
            "create_api_token",
            "--name",
            "guide",
            "--course",
            "cs101",
            "--scopes",
            "read,submit,grades,manage,courses",
            "--owner",
            "instructor",
        ],
        capture_output=True,
        text=True,
        env=_env(settings),
        cwd=GUIDE.parent.parent,
    )
    assert token_text.returncode == 0, token_text.stderr
    token = token_text.stdout.strip()
    blocks = re.findall(r"```sh\n(.*?)```", GUIDE.read_text(), re.S)
    assert len(blocks) == 10
    outputs = []
    for block in blocks:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            capture_output=True,
            text=True,
            cwd=tmp_path,  # the roster example writes roster.json
            env={"PATH": "/usr/bin:/bin", "GRADER": live_server.url, "TOKEN": token},
        )
        assert done.returncode == 0, (block, done.stdout, done.stderr)
        outputs.append(done.stdout)
    made, assignment, read_back, small, whole, roster, listed, submitted, grades, archived = outputs

    course = Course.objects.get(code="cs201-2026")
    assert json.loads(made)["code"] == "cs201-2026"
    assert Membership.objects.get(course=course, user__username="instructor").role == Role.INSTRUCTOR

    saved = Assignment.objects.get(course=course, slug="sum-list")
    assert (saved.memory_mb, saved.wall_seconds, saved.min_seconds_between_attempts) == (128, 30, 60)
    back = json.loads(read_back)
    assert back == json.loads(assignment)
    assert [t["name"] for t in back["tests"]] == ["sample", "floats", "program", "properties"]
    assert back["setup_code"] == "sample = [3, 1, 4, 1, 5]\n" and back["module_name"] == "solution"

    assert json.loads(small)["created_users"] == 2
    assert json.loads(whole) == {
        "created_users": 5000,
        "updated_memberships": 0,
        "unchanged_shared_accounts": 0,
        "total": 5000,
    }
    assert Membership.objects.filter(course=course, role=Role.STUDENT).count() == 5001
    assert Membership.objects.get(course=course, external_id="canvas-502").role == Role.TA
    assert Membership.objects.get(course=course, external_id="canvas-15000").user.last_name == "Student 5000"
    page = json.loads(roster)
    assert page["count"] == 5001 and len(page["results"]) == 1000
    assert {m["role"] for m in page["results"]} == {"student"} and page["next"]

    assert [a["slug"] for a in json.loads(listed)["results"]] == ["sum-list"]
    assert Submission.objects.get(pk=json.loads(submitted)["id"]).student.email == "ada@example.edu"
    assert isinstance(json.loads(grades), list)  # the submission may not be graded yet
    archived_course, end = json.JSONDecoder().raw_decode(archived)  # two answers, back to back
    assert archived_course["archived_at"] and isinstance(json.loads(archived[end:]), list)
    course.refresh_from_db()
    assert course.archived and ApiToken.objects.get(name="guide").last_used_at is not None


def _env(settings):
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return dict(os.environ, DATABASE_URL=url)
