"""Structured logs: with LOG_FORMAT=json every line the site (gunicorn) and the Celery worker
write while a submission is graded is one JSON object, and the lines about it carry its id and
the request's (the caller's X-Request-ID, passed on to the task in its message) — the web's also
the course, the worker's the Celery task's id."""

from __future__ import annotations

import json

import pytest
import requests

from api.models import ApiToken
from grading.models import Status, Submission
from tests.conftest import WRONG

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.worker]


def new_lines(path, offset: int) -> list[dict]:
    """Every complete line written since ``offset``, parsed (fails on a line that is not JSON)."""
    text = path.read_bytes()[offset:].decode()
    return [json.loads(line) for line in text.splitlines(keepends=True) if line.endswith("\n")]


def test_web_and_worker_log_json_lines_with_the_submission(
    web_server, celery_worker, people, course, assignment, wait_for
):
    web_start, worker_start = web_server.log_path.stat().st_size, celery_worker.log_path.stat().st_size
    _, token = ApiToken.issue("LMS", ["submit"], [course], people["instructor"])
    response = requests.post(
        f"{web_server.url}/api/v1/courses/cs1/assignments/add/submissions/",
        json={"student": "alice@example.edu", "files": {"solution.py": WRONG}},
        headers={"Authorization": f"Bearer {token}", "X-Request-ID": "lms-req-0042"},
        timeout=30,
    )
    assert response.status_code == 201 and response.headers["X-Request-ID"] == "lms-req-0042"
    pk = response.json()["id"]
    assert wait_for(lambda: Submission.objects.get(pk=pk).status == Status.GRADED, 120)

    def about_it(lines: list[dict]) -> list[dict]:
        return [line for line in lines if line.get("submission_id") == pk]

    assert wait_for(lambda: about_it(new_lines(celery_worker.log_path, worker_start)), 30)
    web = about_it(new_lines(web_server.log_path, web_start))
    worker = about_it(new_lines(celery_worker.log_path, worker_start))
    assert any(line["message"] == "submission stored" for line in web)
    assert all(line["request_id"] == "lms-req-0042" and line["course"] == "cs1" for line in web)
    assert {"time", "level", "logger", "message"} <= set(web[0])
    assert all(line["task"] == "grader.grade_submission" and line["task_id"] for line in worker)
    assert all(line["request_id"] == "lms-req-0042" for line in worker)  # carried by the message
