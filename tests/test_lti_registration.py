"""Registering an LMS, the tool's keys and JWKS, and the set-up page that lists every URL an
LMS administrator pastes."""

import re

import pytest
import requests
from django.core.management import CommandError, call_command
from lti_tool.models import Key, LtiDeployment, LtiRegistration

from tests.conftest import login
from tests.lti_platform import INSTRUCTOR, Browser, TestPlatform

pytestmark = pytest.mark.django_db

MOODLE = {
    "name": "University Moodle",
    "issuer": "https://moodle.example.edu",
    "client_id": "a1b2c3",
    "auth_url": "https://moodle.example.edu/mod/lti/auth.php",
    "token_url": "https://moodle.example.edu/mod/lti/token.php",
    "keyset_url": "https://moodle.example.edu/mod/lti/certs.php",
    "deployment_ids": "1\n2\n",
}


@pytest.fixture
def admin(django_user_model):
    return django_user_model.objects.create_superuser("admin", "admin@example.edu", "x")


def test_it_registers_a_platform_with_its_deployments(client, admin):
    response = login(client, admin).post("/lti/platforms/", MOODLE)
    assert response.status_code == 302
    registration = LtiRegistration.objects.get()
    assert (registration.issuer, registration.client_id) == ("https://moodle.example.edu", "a1b2c3")
    assert registration.keyset_url == MOODLE["keyset_url"]
    deployments = LtiDeployment.objects.filter(registration=registration).order_by("deployment_id")
    assert [(d.deployment_id, d.is_active) for d in deployments] == [("1", True), ("2", True)]
    page = client.get("/lti/platforms/")
    assert "University Moodle" in page.content.decode() and "a1b2c3" in page.content.decode()


def test_it_says_what_is_wrong_and_saves_nothing(client, admin):
    bad = {**MOODLE, "issuer": "moodle", "auth_url": "not a url", "deployment_ids": "  \n"}
    response = login(client, admin).post("/lti/platforms/", bad)
    assert response.status_code == 400
    text = response.content.decode()
    assert "Nothing was saved" in text
    assert "The issuer is a URL" in text
    assert "Enter a valid URL" in text
    assert "Give at least one deployment id" in text
    assert not LtiRegistration.objects.exists() and not LtiDeployment.objects.exists()


def test_it_refuses_the_same_platform_twice(client, admin):
    login(client, admin).post("/lti/platforms/", MOODLE)
    response = client.post("/lti/platforms/", {**MOODLE, "name": "Again"})
    assert response.status_code == 400
    assert "is already registered" in response.content.decode()
    assert LtiRegistration.objects.count() == 1


def test_only_site_administrators_register_platforms(client, people, course):
    response = login(client, people["instructor"]).post("/lti/platforms/", MOODLE)
    assert response.status_code == 403
    assert not LtiRegistration.objects.exists()


def test_an_administrator_activates_a_deployment_first_seen_in_a_launch(client, admin):
    login(client, admin).post("/lti/platforms/", MOODLE)
    seen = LtiDeployment.objects.create(registration=LtiRegistration.objects.get(), deployment_id="3")
    assert "seen in a launch, not active" in client.get("/lti/platforms/").content.decode()
    assert client.post(f"/lti/deployments/{seen.pk}/activate/").status_code == 302
    seen.refresh_from_db()
    assert seen.is_active


def test_the_setup_page_lists_every_url_an_lms_needs(client, people, course):
    text = login(client, people["instructor"]).get("/lti/setup/").content.decode()
    for url in ("/lti/login/", "/lti/launch/", "/.well-known/jwks.json"):
        assert f"http://testserver{url}" in text
    assert "Deep linking URL" in text


def test_students_do_not_see_the_setup_page(client, people, course):
    assert login(client, people["alice"]).get("/lti/setup/").status_code == 403


def test_the_key_is_made_once_and_served_as_a_jwks(client):
    with pytest.raises(CommandError):
        call_command("lti_ensure_key", check=True)  # how set-up asks whether to make one
    call_command("lti_ensure_key")
    call_command("lti_ensure_key")
    assert Key.objects.count() == 1
    jwks = client.get("/.well-known/jwks.json").json()
    [key] = jwks["keys"]
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
    assert key["kid"] == str(Key.objects.get()) and "d" not in key  # the public half only


def test_rotating_keys_keeps_the_old_one_published_until_it_ages_out(client):
    call_command("lti_ensure_key")
    call_command("rotate_keys")
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert len(kids) == 2  # platforms still verify messages signed just before the rotation
    call_command("rotate_keys", deactivate_after=0)
    assert len(client.get("/.well-known/jwks.json").json()["keys"]) == 1


@pytest.mark.django_db(transaction=True)
def test_an_lms_registers_itself_with_a_one_time_url(
    client, admin, live_server, settings, course, assignment
):
    settings.LTI_FRAMED_COOKIES = False  # see tests.lti_platform.Browser
    call_command("lti_ensure_key")
    lms = TestPlatform(live_server.url).start()
    try:
        host = live_server.url.split("//")[1]  # the URL names the live server
        page = login(client, admin).post("/lti/platforms/", {"make_dynamic_url": "1"}, HTTP_HOST=host)
        url = re.search(r'id="dynamic-url">([^<]+)<', page.content.decode()).group(1)
        token = lms.offer_dynamic_registration()
        params = {
            "openid_configuration": lms.url + "/.well-known/openid-configuration",
            "registration_token": token,
        }
        # The LMS opens the URL (in a frame) for its administrator.
        answer = requests.get(url, params=params, timeout=30)
        assert answer.status_code == 200 and "org.imsglobal.lti.close" in answer.text
        [sent] = lms.tool_registrations
        assert sent["initiate_login_uri"] == live_server.url + "/lti/login/"
        assert sent["jwks_uri"] == live_server.url + "/.well-known/jwks.json"
        assert sent["redirect_uris"] == [live_server.url + "/lti/launch/"]
        messages = sent["https://purl.imsglobal.org/spec/lti-tool-configuration"]["messages"]
        assert {m["type"] for m in messages} == {"LtiResourceLinkRequest", "LtiDeepLinkingRequest"}
        assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in sent["scope"]
        registration = LtiRegistration.objects.get(issuer=lms.issuer)
        assert registration.client_id == lms.client_id and registration.keyset_url.startswith(lms.url)
        assert LtiDeployment.objects.get(registration=registration).deployment_id == "dyn-deployment"
        # The URL works once.
        again = requests.get(url, params=params, timeout=30)
        assert again.status_code == 403 and "unknown, used or expired" in again.text
        assert LtiRegistration.objects.count() == 1
        # And the LMS launches with what it was given.
        page = Browser().launch(lms, lms.launch("lms-teacher", [INSTRUCTOR]))
        assert page.url.endswith("/lti/link/")
    finally:
        lms.close()


def test_only_site_administrators_make_registration_urls(client, people, course):
    assert (
        login(client, people["instructor"]).post("/lti/platforms/", {"make_dynamic_url": "1"}).status_code
        == 403
    )
