"""Instructors create and revoke the course's API tokens on its page; revoking asks first."""

import pytest
from django.urls import reverse

from api.models import ApiToken
from courses.models import Course

pytestmark = pytest.mark.django_db
URL = reverse("tokens", args=["cs1"])


@pytest.fixture
def token(people, course):
    token, _ = ApiToken.issue("Canvas production", ["read", "grades"], [course], people["instructor"])
    return token


def test_revoking_shows_the_token_first_and_changes_nothing(client, people, token):
    client.force_login(people["instructor"])
    url = reverse("token_revoke", args=["cs1", token.pk])
    assert url in client.get(URL).content.decode()  # the list links to the confirmation
    page = client.get(url).content.decode()
    assert "Revoke the token “Canvas production”?" in page
    assert "grades, read" in page and "Last used</dt><dd>never" in page
    assert '<button type="submit" class="danger">Revoke</button>' in page and f'href="{URL}"' in page
    token.refresh_from_db()
    assert token.revoked_at is None


def test_confirming_revokes(client, people, token):
    client.force_login(people["instructor"])
    response = client.post(reverse("token_revoke", args=["cs1", token.pk]), follow=True)
    assert "Token “Canvas production” revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None and not token.is_live
    again = client.post(reverse("token_revoke", args=["cs1", token.pk]), follow=True)
    assert "was already revoked" in again.content.decode()


def test_the_page_says_which_other_courses_lose_the_token(client, people, course, token):
    other = Course.objects.create(code="cs2", title="CS 2")
    token.courses.add(other)
    client.force_login(people["instructor"])
    page = client.get(reverse("token_revoke", args=["cs1", token.pk])).content.decode()
    assert "It is also used in cs2" in page


@pytest.mark.parametrize("who", ["ta", "alice", "charlie"])
def test_only_instructors_revoke(client, people, token, who):
    client.force_login(people[who])
    url = reverse("token_revoke", args=["cs1", token.pk])
    assert client.get(url).status_code == 404 and client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_another_courses_token_is_not_found_here(client, people, course):
    other = Course.objects.create(code="cs2", title="CS 2")
    theirs, _ = ApiToken.issue("theirs", ["read"], [other], people["charlie"])
    client.force_login(people["instructor"])
    assert client.post(reverse("token_revoke", args=["cs1", theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_a_bad_new_token_keeps_what_was_typed(client, people, course):
    client.force_login(people["instructor"])
    response = client.post(URL, {"name": "Moodle", "scopes": []})
    page = response.content.decode()
    assert response.status_code == 400 and "at least one scope" in page and 'value="Moodle"' in page
    response = client.post(URL, {"name": "", "scopes": ["grades"]})
    assert 'value="grades" checked' in response.content.decode()
