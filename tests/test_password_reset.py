"""Password resets by e-mail (Django's own views; web.accounts' form), gone through for real:
the e-mail is read from the outbox, its link followed, a password set, then used to log in.
Accounts a roster sync created (no usable password) reset like any other."""

from __future__ import annotations

import re
import secrets

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from courses.roster import sync_roster
from tests.test_settings import manage

pytestmark = pytest.mark.django_db
User = get_user_model()
NEW_PASSWORD = "orange-kettle-1987-walrus"


def _ask(client, email):
    return client.post("/accounts/password-reset/", {"email": email})


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def test_a_student_enrolled_by_a_roster_sync_sets_a_password_and_logs_in(client, course):
    sync_roster(course, [{"email": "zed@example.edu", "first_name": "Zed", "role": "student"}])
    zed = User.objects.get(email="zed@example.edu")
    assert not zed.has_usable_password()
    login_page = client.get("/accounts/login/").content.decode()
    assert 'href="/accounts/password-reset/"' in login_page and "Forgot your password?" in login_page

    response = _ask(client, "Zed@Example.edu")
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["zed@example.edu"]
    assert f"Your username: {zed.username}" in mail.outbox[0].body
    link = _link(mail.outbox[0])

    form_url = client.get(link)["Location"]  # Django moves the token into the session
    assert "Choose a new password" in client.get(form_url).content.decode()
    weak = client.post(form_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert weak.status_code == 200 and "Nothing was saved" in weak.content.decode()
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    zed.refresh_from_db()
    assert zed.has_usable_password() and zed.check_password(NEW_PASSWORD)

    logged_in = client.post("/accounts/login/", {"username": zed.username, "password": NEW_PASSWORD})
    assert logged_in.status_code == 302 and logged_in["Location"] == "/"
    assert "cs1" in client.get("/").content.decode()
    client.logout()
    again = client.get(client.get(link).get("Location", link))
    assert "already been used or has expired" in again.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, people):
    response = _ask(client, "nobody@example.edu")
    assert response.status_code == 302 and response["Location"] == "/accounts/password-reset/sent/"
    assert mail.outbox == []


def test_inactive_accounts_get_no_link(client, people):
    User.objects.filter(pk=people["bob"].pk).update(is_active=False)
    _ask(client, "bob@example.edu")
    assert mail.outbox == []


def test_an_account_with_a_password_resets_too_and_the_old_one_stops(client, people):
    _ask(client, "alice@example.edu")
    form_url = client.get(_link(mail.outbox[0]))["Location"]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    people["alice"].refresh_from_db()
    assert people["alice"].check_password(NEW_PASSWORD) and not people["alice"].check_password(
        "test-pass-123"
    )


@pytest.mark.parametrize(
    "first, second, box, reason",
    [
        ("12345678", "12345678", "new_password1", "entirely numeric"),
        ("alice-example", "alice-example", "new_password1", "too similar"),
        (NEW_PASSWORD, NEW_PASSWORD + "!", "new_password2", "didn’t match"),
        ("12345678", "87654321", "new_password2", "didn’t match"),
    ],
)
def test_what_is_wrong_with_a_new_password_is_said_on_the_box_to_fix(
    client, people, first, second, box, reason
):
    _ask(client, "alice@example.edu")
    form_url = client.get(_link(mail.outbox[0]))["Location"]
    page = client.post(form_url, {"new_password1": first, "new_password2": second})
    errors = page.context["form"].errors
    assert list(errors) == [box] and reason in " ".join(errors[box])
    label = {"new_password1": "New password", "new_password2": "The same password again"}[box]
    assert f'<a href="#id_{box}">{label}</a>: ' in page.content.decode()
    said = sum(len(messages) for messages in errors.values())
    assert f"Please correct {'these' if said > 1 else 'this'}:" in page.content.decode()
    people["alice"].refresh_from_db()
    assert people["alice"].check_password("test-pass-123")  # nothing saved


def test_a_forged_link_is_refused(client, people):
    page = client.get(f"/accounts/reset/{people['alice'].pk}/{secrets.token_hex(8)}-x/", follow=True)
    assert "already been used or has expired" in page.content.decode()


# -- e-mail settings come from the environment and fail loudly -------------------------------
@pytest.mark.parametrize(
    "environ, message",
    [
        ({"EMAIL_PORT": "smtp"}, "EMAIL_PORT must be an integer"),
        ({"EMAIL_PORT": "70000"}, "EMAIL_PORT must be at most 65535"),
        ({"EMAIL_BACKEND": "sendgrid"}, "EMAIL_BACKEND must be one of smtp, console, locmem"),
        ({"EMAIL_USE_TLS": "yes", "EMAIL_USE_SSL": "yes"}, "cannot both be on"),
        ({"DEFAULT_FROM_EMAIL": "grader"}, "DEFAULT_FROM_EMAIL must be an e-mail address"),
    ],
)
def test_bad_email_settings_stop_start_up(environ, message):
    result = manage("check", **environ)
    assert result.returncode != 0 and message in result.stderr


def test_development_prints_e_mails_and_production_sends_them():
    show = "from django.conf import settings; print(settings.EMAIL_BACKEND, settings.DEFAULT_FROM_EMAIL)"
    development = manage("shell", "-v0", "-c", show).stdout
    assert development.startswith("django.core.mail.backends.console.EmailBackend")
    production = manage(
        "shell",
        "-v0",
        "-c",
        show,
        DJANGO_ENV="production",
        SECRET_KEY="s" * 60,
        ALLOWED_HOSTS="grader.example.edu",
        DEFAULT_FROM_EMAIL="Grader <noreply@example.edu>",
    )
    assert production.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "Grader",
        "<noreply@example.edu>",
    ]
