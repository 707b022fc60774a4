"""Settings come from the environment; bad values stop start-up with a clear message."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from grader import env

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **environ):
    full = {k: v for k, v in os.environ.items() if k not in ("DJANGO_ENV", "SECRET_KEY", "DEBUG")}
    full.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=full, capture_output=True, text=True
    )


@pytest.mark.parametrize(
    "reader, value, message",
    [
        (lambda: env.env_bool("X_FLAG", False), "maybe", "X_FLAG must be a boolean"),
        (lambda: env.env_int("X_NUM", 1), "ten", "X_NUM must be an integer, got 'ten'"),
        (lambda: env.env_int("X_NUM", 1, minimum=5), "3", "X_NUM must be at least 5"),
        (lambda: env.env_float("X_NUM", 1.0, maximum=2), "2.5", "X_NUM must be at most 2"),
        (lambda: env.env_choice("X_MODE", "a", ("a", "b")), "c", "X_MODE must be one of a, b"),
    ],
)
def test_it_fails_loudly_on_bad_values(monkeypatch, reader, value, message):
    for name in ("X_FLAG", "X_NUM", "X_MODE"):
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        reader()


def test_it_reads_good_values(monkeypatch):
    monkeypatch.setenv("X_FLAG", "Yes")
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    assert env.env_bool("X_FLAG", False) is True
    assert env.env_list("X_LIST", []) == ["a.example", "b.example"]
    assert env.env_int("X_UNSET", 7) == 7


def test_it_refuses_to_start_with_a_setting_of_the_wrong_type():
    result = manage("check", SUBMISSION_MAX_BYTES="lots")
    assert result.returncode != 0
    assert "SUBMISSION_MAX_BYTES must be an integer, got 'lots'" in result.stderr


def test_it_requires_a_secret_key_in_production():
    result = manage("check", DJANGO_ENV="production", ALLOWED_HOSTS="grader.example.edu")
    assert result.returncode != 0 and "SECRET_KEY is required" in result.stderr


def test_it_refuses_a_non_postgresql_database():
    result = manage("check", DATABASE_URL="sqlite:///tmp/x.db")
    assert result.returncode != 0 and "must point at PostgreSQL" in result.stderr


def test_the_production_profile_passes_the_deploy_check():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="grader.example.edu",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout
