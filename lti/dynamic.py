"""LTI Dynamic Registration (IMS LTI-DR 1.0) on django-lti-dynamic-registration.

An LMS administrator pastes a registration URL into their LMS, which opens it (in a frame) with
its ``openid_configuration`` URL and a ``registration_token``; the tool reads the LMS's
configuration, registers itself at the LMS's ``registration_endpoint`` and stores the LMS's
issuer, URLs, the client id it was given and the deployment id.

Anyone could otherwise register an "LMS" of their own and make accounts and courses: a
registration URL carries a one-time secret that a site administrator makes on the platforms
page (valid ``TOKEN_SECONDS``, used once).
"""

from __future__ import annotations

import secrets

import requests
from django.core.cache import cache
from django.db import transaction
from lti_dynamic_registration.types import CanvasLtiMessage, LmsLtiRegistration, LmsLtiToolConfiguration
from lti_tool.models import LtiDeployment, LtiRegistration

TOKEN_SECONDS = 24 * 3600
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
]


class RegistrationFailed(Exception):
    """Shown to the LMS administrator; nothing was kept."""


def new_token(admin) -> str:
    token = secrets.token_urlsafe(24)
    cache.set(_key(token), admin.pk, timeout=TOKEN_SECONDS)
    return token


def token_is_valid(token: str) -> bool:
    return cache.get(_key(token)) is not None


def use_token(token: str) -> bool:
    """True once per token (of racing requests, one wins)."""
    return bool(cache.delete(_key(token)))


def _key(token: str) -> str:
    return f"lti:dynamic-registration:{token}"


def tool_registration(urls: dict[str, str]) -> LmsLtiRegistration:
    """What grader asks the LMS for: its URLs, launches and deep linking, AGS and NRPS."""
    # CanvasLtiMessage: the library's plain LtiMessage cannot serialise itself (0.1.2); the
    # Canvas one writes the IMS fields and leaves its own extensions out when unset.
    messages = [
        CanvasLtiMessage(type="LtiResourceLinkRequest", target_link_uri=urls["launch"], label="grader"),
        CanvasLtiMessage(
            type="LtiDeepLinkingRequest",
            target_link_uri=urls["launch"],
            label="grader assignment",
            placements=["ContentArea"],
        ),
    ]
    configuration = LmsLtiToolConfiguration(
        domain=urls["domain"],
        target_link_uri=urls["launch"],
        claims=["iss", "sub", "name", "given_name", "family_name", "email"],
        messages=messages,
        description="Auto-graded programming assignments",
    )
    return LmsLtiRegistration(
        client_name="grader",
        jwks_uri=urls["jwks"],
        initiate_login_uri=urls["login"],
        target_link_uri=urls["launch"],
        scopes=SCOPES,
        lti_tool_configuration=configuration,
    )


def register_in_platform(
    openid_config: dict, registration_token: str, tool: LmsLtiRegistration
) -> tuple[str, str]:
    """POST the tool's registration to the LMS: (client id, deployment id)."""
    try:
        response = requests.post(
            openid_config["registration_endpoint"],
            json=tool.to_dict(),
            headers={"Authorization": f"Bearer {registration_token}"},
            timeout=20,
        )
        response.raise_for_status()
        answer = response.json()
        return str(answer["client_id"]), str(answer.get(TOOL_CONFIGURATION, {}).get("deployment_id", ""))
    except (requests.RequestException, ValueError, KeyError) as error:
        raise RegistrationFailed(f"The LMS did not accept the registration: {error}") from error


@transaction.atomic
def store_platform(openid_config: dict, client_id: str, deployment_id: str) -> LtiRegistration:
    platform = openid_config.get(PLATFORM_CONFIGURATION, {})
    name = platform.get("product_family_code") or openid_config["issuer"]
    if LtiRegistration.objects.filter(issuer=openid_config["issuer"], client_id=client_id).exists():
        raise RegistrationFailed("This LMS registration is already known to grader.")
    registration = LtiRegistration.objects.create(
        name=f"{name} (dynamic registration)"[:255],
        issuer=openid_config["issuer"],
        client_id=client_id,
        auth_url=openid_config["authorization_endpoint"],
        token_url=openid_config["token_endpoint"],
        keyset_url=openid_config["jwks_uri"],
    )
    if deployment_id:
        LtiDeployment.objects.create(registration=registration, deployment_id=deployment_id, is_active=True)
    return registration
