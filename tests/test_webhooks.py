"""Webhooks: safe URLs only, signed bodies, retried until the receiver says 2xx."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from grading.models import Status, Submission
from tests.conftest import CORRECT
from webhooks.models import Delivery, Webhook, WebhookDelivery
from webhooks.services import sign, validate_url, verify_signature


@pytest.mark.parametrize(
    "url, message",
    [
        ("ftp://example.org/hook", "must start with http"),
        ("javascript:alert(1)", "must start with http"),
        ("http:///nohost", "must start with http"),
        ("http://10.1.2.3/hook", "private or local"),
        ("https://192.168.0.10/hook", "private or local"),
        ("http://127.0.0.1:9000/hook", "private or local"),
        ("http://localhost/hook", "private or local"),
        ("http://[::1]/hook", "private or local"),
        ("http://169.254.169.254/latest/meta-data", "private or local"),
    ],
)
def test_it_refuses_unsafe_webhook_urls(settings, url, message):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(ValidationError, match=message):
        validate_url(url)


def test_it_accepts_public_and_allow_listed_urls(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "10.8.0.0/16"]
    validate_url("https://93.184.216.34/hooks/grader")  # validated only: nothing is sent
    validate_url("http://127.0.0.1:9000/hook")
    validate_url("http://10.8.3.4/hook")
    with pytest.raises(ValidationError):
        validate_url("http://10.9.0.1/hook")


def test_signatures_verify_and_resist_tampering_and_replay():
    now = str(int(time.time()))
    signature = sign("s3cret", now, b'{"a":1}')
    assert verify_signature("s3cret", now, b'{"a":1}', signature)
    assert not verify_signature("s3cret", now, b'{"a":2}', signature)
    assert not verify_signature("other", now, b'{"a":1}', signature)
    old = str(int(time.time()) - 3600)
    assert not verify_signature("s3cret", old, b'{"a":1}', sign("s3cret", old, b'{"a":1}'))


@pytest.mark.django_db
def test_the_admin_form_shows_why_a_url_is_refused(admin_client, course, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    response = admin_client.post(
        reverse("admin:webhooks_webhook_add"),
        {
            "course": course.pk,
            "url": "http://10.0.0.5/x",
            "secret": "k",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "private or local address" in response.content.decode()
    assert not Webhook.objects.exists()


class Receiver:
    """An HTTP server on 127.0.0.1 that checks signatures and fails the first POST."""

    def __init__(self, secret):
        self.secret, self.requests = secret, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = verify_signature(
                    receiver.secret,
                    self.headers["X-Grader-Timestamp"],
                    body,
                    self.headers["X-Grader-Signature"],
                )
                receiver.requests.append(
                    {"valid": ok, "body": json.loads(body), "headers": dict(self.headers)}
                )
                self.send_response(500 if len(receiver.requests) == 1 else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.mark.django_db(transaction=True)
@pytest.mark.docker
@pytest.mark.worker
def test_a_graded_submission_is_posted_signed_and_retried(
    client, people, assignment, celery_worker, wait_for, settings
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    receiver = Receiver("shared-secret")
    hook = Webhook(course=assignment.course, url=receiver.url, secret="shared-secret")
    hook.full_clean()
    hook.save()
    try:
        client.force_login(people["alice"])
        client.post(reverse("submit", args=["cs1", "add"]), {"code": CORRECT})
        assert wait_for(lambda: WebhookDelivery.objects.filter(status=Delivery.DELIVERED).exists(), 90)
    finally:
        receiver.server.shutdown()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.response_code) == (2, 200)
    assert [r["valid"] for r in receiver.requests] == [True, True]  # the first answered 500, then a retry
    body = receiver.requests[1]["body"]
    submission = Submission.objects.get()
    assert submission.status == Status.GRADED
    assert body["event"] == "submission.graded" and body["delivery"] == delivery.pk
    assert body["submission"]["score"] == 3.0 and body["submission"]["student"]["username"] == "alice"


@pytest.mark.django_db
def test_instructors_manage_webhooks_on_the_course_page(client, people, course, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    url = reverse("webhooks", args=["cs1"])
    client.force_login(people["ta"])
    assert client.get(url).status_code == 404
    client.force_login(people["instructor"])
    response = client.post(url, {"url": "gopher://example.org/"})
    assert response.status_code == 400 and "must start with http" in response.content.decode()
    assert 'value="gopher://example.org/"' in response.content.decode()  # the input is kept
    assert not Webhook.objects.exists()
    response = client.post(url, {"url": "https://93.184.216.34/hook"}, follow=True)
    hook = Webhook.objects.get()
    assert hook.secret in response.content.decode()
    client.post(url, {"delete": hook.pk})
    assert not Webhook.objects.exists()
