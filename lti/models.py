"""What ties django-lti's records of an LMS to the platform's own.

django-lti (``lti_tool``) already keeps, and these models reuse rather than copy:

- ``LtiRegistration`` (issuer + client id, the platform's auth/token/JWKS URLs) and
  ``LtiDeployment`` (its deployment ids, active or not);
- ``LtiUser``: the LTI identity, one per (registration, ``sub``), whose ``auth_user`` is the
  platform account it signs in as (see ``lti.launch.account_for``);
- ``LtiContext``: one LMS course per deployment, with the NRPS ``context_memberships_url``
  (``memberships_url``) and the context-wide AGS ``lineitems`` URL and scopes of its last launch;
- ``LtiResourceLink``: one link placed in an LMS course.

Two links are the platform's: an LMS context is a grader course, a resource link opens an
assignment of that course (with the AGS endpoint claim of that link, for grade passback).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from lti_tool.models import LtiContext, LtiResourceLink

from courses.models import Assignment, Course


class CourseLink(models.Model):
    """An LMS course (an LTI context of one deployment) is this grader course.

    Several contexts may point at one course (sections, a course copied each term); a context
    points at one course only, and a launch from it never reaches another course.
    """

    context = models.OneToOneField(LtiContext, on_delete=models.CASCADE, related_name="course_link")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="lti_links")
    linked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.context} -> {self.course.code}"

    @property
    def memberships_url(self) -> str:
        """The NRPS endpoint of the LMS course (empty if the LMS never offered one)."""
        return self.context.memberships_url


class AssignmentLink(models.Model):
    """A link placed in an LMS course opens this assignment, and its grades go to this line item.

    The AGS endpoint claim is kept per resource link because ``lineitem`` (the column this
    link's scores go to) differs from link to link; ``lineitems`` and the scopes are those of the
    last launch of this link (the LMS may narrow them at any time).
    """

    resource_link = models.OneToOneField(
        LtiResourceLink, on_delete=models.CASCADE, related_name="assignment_link"
    )
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="lti_links")
    lineitems_url = models.URLField(max_length=1000, blank=True)
    lineitem_url = models.URLField(max_length=1000, blank=True)
    ags_scopes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.resource_link} -> {self.assignment}"

    @property
    def can_publish_scores(self) -> bool:
        return "https://purl.imsglobal.org/spec/lti-ags/scope/score" in self.ags_scopes


# Grades sent back and roster syncs (AGS, NRPS) live in their own module.
from lti.service_models import GradePassback, RosterSync  # noqa: E402,F401
