"""Bad input through the API and the site's upload form: each gets the API's JSON error format
(or the form's message) with the right status, and nothing is stored."""

import json

import pytest
from django.urls import reverse

from grading.models import Submission
from tests.conftest import CORRECT, login

pytestmark = pytest.mark.django_db


def api_error(response, status):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize(
    "name, args",
    [
        ("api-courses", []),
        ("api-course", ["cs1"]),
        ("api-assignments", ["cs1"]),
        ("api-assignment", ["cs1", "add"]),
        ("api-grades", ["cs1"]),
        ("api-roster", ["cs1"]),
        ("api-webhooks", ["cs1"]),
        ("api-submission", [1]),
        ("api-submit", ["cs1", "add"]),
    ],
)
def test_anonymous_requests_get_401_in_the_api_format(client, assignment, name, args):
    url = reverse(name, args=args)
    for response in (
        client.get(url),
        client.post(url, data="{}", content_type="application/json"),
        client.put(url, data="{}", content_type="application/json"),
    ):
        assert api_error(response, 401)["code"] == "not_authenticated"
        assert "Bearer" in response["WWW-Authenticate"]


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 50_000 + "1" + "}" * 50_000])
def test_json_nested_too_deeply_is_a_400(client, people, assignment, body):
    login(client, people["alice"])
    response = client.post(
        reverse("api-submit", args=["cs1", "add"]), data=body, content_type="application/json"
    )
    assert "nested too deeply" in api_error(response, 400)["message"]
    assert not Submission.objects.exists()


def test_a_body_over_the_size_limit_is_a_413_in_json(client, people, assignment, settings):
    login(client, people["alice"])
    body = json.dumps({"files": {"solution.py": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}})
    response = client.post(
        reverse("api-submit", args=["cs1", "add"]), data=body, content_type="application/json"
    )
    assert api_error(response, 413)["code"] == "too_large"
    assert not Submission.objects.exists()


@pytest.mark.parametrize("content", [5, 1.5, None, True, ["def add(a, b): ..."], {"x": "y"}])
def test_file_contents_must_be_strings(client, people, assignment, content):
    login(client, people["alice"])
    body = {"files": {"solution.py": content}}
    response = client.post(
        reverse("api-submit", args=["cs1", "add"]), data=body, content_type="application/json"
    )
    error = api_error(response, 400)
    assert "solution.py" in error["message"]
    assert "string" in error["message"] or "may not be null" in error["message"]
    assert not Submission.objects.exists()


def multipart(name, text, extra=()):
    """A multipart body written by hand: Django's test client would strip the path itself."""
    boundary = "BoUnDaRy"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in extra]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: text/x-python\r\n\r\n{text}\r\n"
    )
    return "".join(parts) + f"--{boundary}--\r\n", f"multipart/form-data; boundary={boundary}"


UNSAFE = ["../../solution.py", "/etc/solution.py", "..\\\\solution.py", "sub/solution.py"]


@pytest.mark.parametrize("name", UNSAFE)
def test_api_uploads_named_with_a_path_are_refused(client, people, assignment, name):
    login(client, people["alice"])
    body, content_type = multipart(name, CORRECT)
    response = client.post(reverse("api-submit", args=["cs1", "add"]), data=body, content_type=content_type)
    assert "not allowed" in api_error(response, 400)["message"]
    assert not Submission.objects.exists()


@pytest.mark.parametrize("name", UNSAFE)
def test_site_uploads_named_with_a_path_are_refused_and_the_code_is_kept(client, people, assignment, name):
    login(client, people["alice"])
    typed = "def add(a, b):\n    return a + b  # typed, kept\n"
    body, content_type = multipart(name, CORRECT, extra=[("code", typed)])
    response = client.post(reverse("submit", args=["cs1", "add"]), data=body, content_type=content_type)
    page = response.content.decode()
    assert response.status_code == 400 and "is not allowed" in page and "typed, kept" in page
    assert not Submission.objects.exists()


def test_a_plain_upload_still_works(client, people, assignment):
    login(client, people["alice"])
    body, content_type = multipart("solution.py", CORRECT)
    response = client.post(reverse("api-submit", args=["cs1", "add"]), data=body, content_type=content_type)
    assert response.status_code == 201, response.content
