"""Platform registrations: an LMS (issuer + the client id it gave this tool) and its deployment
ids. Stored in django-lti's ``LtiRegistration`` and ``LtiDeployment``."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.db import models, transaction
from lti_tool.models import LtiDeployment, LtiRegistration


def _https_by_default(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs["assume_scheme"] = "https"  # an LMS's URLs pasted without a scheme are https
    return field.formfield(**kwargs)


class PlatformForm(forms.ModelForm):
    deployment_ids = forms.CharField(
        error_messages={"required": "Give at least one deployment id."},
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, as the LMS shows them (Moodle: the tool's deployment id; Canvas: "
        "Settings → Apps → the app's deployment id).",
    )

    class Meta:
        model = LtiRegistration
        formfield_callback = _https_by_default
        fields = ["name", "issuer", "client_id", "auth_url", "token_url", "keyset_url"]
        labels = {
            "issuer": "Issuer (platform id)",
            "auth_url": "OIDC authentication URL",
            "token_url": "Access token URL",
            "keyset_url": "Public keyset (JWKS) URL",
        }
        help_texts = {
            "name": "Shown here only, e.g. the university's Moodle.",
            "issuer": "Moodle: the site's URL; Canvas: https://canvas.instructure.com (or the "
            "beta/test one).",
            "client_id": "The client id the LMS gave this tool.",
        }

    def clean_issuer(self) -> str:
        issuer = self.cleaned_data["issuer"].strip()
        parts = urlsplit(issuer)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise forms.ValidationError("The issuer is a URL, e.g. https://moodle.example.edu.")
        return issuer

    def clean_deployment_ids(self) -> list[str]:
        ids = [line.strip() for line in self.cleaned_data["deployment_ids"].splitlines() if line.strip()]
        if not ids:
            raise forms.ValidationError("Give at least one deployment id.")
        if too_long := [i for i in ids if len(i) > 255]:
            raise forms.ValidationError(f"A deployment id is at most 255 characters: {too_long[0][:40]}…")
        return list(dict.fromkeys(ids))

    def clean(self):
        data = super().clean()
        issuer, client_id = data.get("issuer"), data.get("client_id")
        if (
            issuer
            and client_id
            and LtiRegistration.objects.filter(issuer=issuer, client_id=client_id).exists()
        ):
            raise forms.ValidationError(
                f"This platform (issuer {issuer}, client id {client_id}) is already registered."
            )
        return data

    def validate_unique(self):
        pass  # clean() says it in words; the database constraint still holds


@transaction.atomic
def register_platform(form: PlatformForm) -> LtiRegistration:
    """Save a valid PlatformForm: the registration and its deployments, active."""
    registration = form.save()
    for deployment_id in form.cleaned_data["deployment_ids"]:
        LtiDeployment.objects.create(registration=registration, deployment_id=deployment_id, is_active=True)
    return registration


def activate_deployment(deployment: LtiDeployment) -> None:
    """A deployment first seen in a launch is kept inactive until an administrator says yes."""
    LtiDeployment.objects.filter(pk=deployment.pk).update(is_active=True)
