"""Instructors check their tests against the reference solution before publishing."""

import pytest
from django.urls import reverse

from courses.models import Assignment

pytestmark = pytest.mark.django_db


@pytest.mark.docker
def test_it_shows_the_tests_the_reference_solution_fails(client, people, assignment, sandbox_image):
    client.force_login(people["ta"])
    html = client.post(reverse("reference_check", args=["cs1", "add"])).content.decode()
    assert "All 3 tests pass with the reference solution" in html
    hidden = assignment.tests.get(name="big")
    hidden.spec = {"expr": "add(10, 20)", "expected": "31"}
    hidden.save()
    html = client.post(reverse("reference_check", args=["cs1", "add"])).content.decode()
    assert "1 test fails with the reference solution" in html and "31" in html


def test_it_explains_when_there_is_nothing_to_check(client, people, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(reference_files={})
    client.force_login(people["instructor"])
    response = client.post(reverse("reference_check", args=["cs1", "add"]), follow=True)
    assert "Add a reference solution first." in response.content.decode()


def test_students_cannot_check_or_publish(client, people, assignment):
    client.force_login(people["alice"])
    assert client.post(reverse("reference_check", args=["cs1", "add"])).status_code == 404
    assert client.post(reverse("publish", args=["cs1", "add"]), {"published": "0"}).status_code == 404


def test_instructors_publish_and_unpublish(client, people, assignment):
    client.force_login(people["ta"])
    assert client.post(reverse("publish", args=["cs1", "add"]), {"published": "0"}).status_code == 404
    client.force_login(people["instructor"])
    client.post(reverse("publish", args=["cs1", "add"]), {"published": "0"})
    assignment.refresh_from_db()
    assert not assignment.published
    client.post(reverse("publish", args=["cs1", "add"]), {"published": "1"})
    assignment.refresh_from_db()
    assert assignment.published
