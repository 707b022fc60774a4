"""Launches: the library's validation plus the rules it leaves to the tool, and who the person
launching is here.

pylti1p3 (through django-lti) validates the id token: the OIDC state against the cookie set at
login initiation, the JWT signature against the platform's JWKS (fetched and cached here), the
issuer and client id against a registration, ``exp``, the deployment and the message's shape.
Two rules it leaves out are added here: a nonce is accepted once (the library only checks that
the tool issued it), and ``azp`` names this tool when present or when ``aud`` has several
entries (OIDC Core 3.1.3.7).

Accounts: an LTI identity is (registration, ``sub``); the first launch of a ``sub`` makes a new
account with no usable password (they always come in through the LMS). The same ``sub`` from
another registration of the same issuer is the same person (``sub`` is unique per issuer).
E-mail addresses never match accounts: an LMS user can usually edit theirs, and matching on it
would hand them someone else's grades.

Roles (LTI context roles, short or full URIs, ``membership#`` or ``membership/``):

    Instructor, Administrator (context)      -> instructor
    TeachingAssistant (Instructor sub-role),
    Mentor                                   -> ta
    Learner                                  -> student

The strongest role wins (an Instructor who is also a Learner is an instructor), except that
the TeachingAssistant sub-role outranks the Instructor principal role sent along with it.
Institution
roles (``institution/person#...``) and system roles give nothing in a course.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import uuid4

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils.text import slugify
from lti_tool.models import LtiLaunch, LtiUser
from lti_tool.utils import DjangoToolConfig
from pylti1p3.contrib.django import DjangoCacheDataStorage, DjangoMessageLaunch
from pylti1p3.contrib.django.request import DjangoRequest
from pylti1p3.exception import LtiException

from courses.models import Role

CONTEXT_ROLE = "http://purl.imsglobal.org/vocab/lis/v2/membership"
# Checked strongest first.
ROLE_RULES: list[tuple[str, str]] = [
    ("Instructor#TeachingAssistant", Role.TA),
    ("Instructor", Role.INSTRUCTOR),
    ("Administrator", Role.INSTRUCTOR),
    ("Mentor", Role.TA),
    ("Learner", Role.STUDENT),
]
RANK = {Role.STUDENT: 0, Role.TA: 1, Role.INSTRUCTOR: 2}


class LaunchRefused(Exception):
    """A launch the tool will not honour; the message is shown to the person launching."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


def _context_role_name(role: str) -> str | None:
    """'Instructor', 'Instructor#TeachingAssistant'... for a context role, else None."""
    for prefix in (CONTEXT_ROLE + "#", CONTEXT_ROLE + "/"):
        if role.startswith(prefix):
            return role[len(prefix) :].replace("/", "#", 1)
    if "://" in role or role.startswith("urn:"):
        return None  # an institution or system role, or another vocabulary
    return role  # the short form LTI allows for context roles


def course_role(roles: list[str] | None) -> str | None:
    """The course role the LTI roles claim grants (see the table above), or None."""
    names = {_context_role_name(raw) for raw in roles or []}
    if "Instructor#TeachingAssistant" in names:
        # LTI asks platforms to send a sub-role's principal role with it: a teaching assistant
        # comes as Instructor and Instructor#TeachingAssistant, and is a TA.
        names.discard("Instructor")
    granted = [role for key, role in ROLE_RULES if key in names]
    return max(granted, key=RANK.__getitem__, default=None)


class FramedRequest(DjangoRequest):
    """With LTI_FRAMED_COOKIES the tool's cookies are ``SameSite=None; Secure`` whatever the
    scheme (browsers take Secure cookies from http://localhost in development), so the library
    is told the request is secure: its state and session cookies, its launch storage's keys and
    its cookie-check page (which tests whether the iframe may keep such a cookie) then agree."""

    def is_secure(self) -> bool:
        return settings.LTI_FRAMED_COOKIES or super().is_secure()


class Launch(DjangoMessageLaunch):
    """pylti1p3's launch, which also fetches the platform's key set again, once, when a token
    names a key that the cached set lacks: platforms rotate their keys, and a launch signed
    with the new one must not fail until the cache expires. The fresh set is not cached, so a
    token with a made-up key id costs one fetch and no more."""

    def get_public_key(self):
        try:
            return super().get_public_key()
        except LtiException:
            cached, self._public_key_cache_data_storage = self._public_key_cache_data_storage, None
            if cached is None:
                raise
            try:
                self._registration.set_key_set(None)
                return super().get_public_key()
            finally:
                self._public_key_cache_data_storage = cached


def tool_config() -> DjangoToolConfig:
    return DjangoToolConfig()


def launch_storage() -> DjangoCacheDataStorage:
    """State, nonces, launch data and the platforms' key sets live in the shared cache, so any
    web process can finish a launch another one began."""
    return DjangoCacheDataStorage()


def validated_launch(request) -> LtiLaunch:
    """The launch in this POST, validated by the library and by the two rules above.
    Raises LaunchRefused with the reason."""
    message_launch = Launch(
        FramedRequest(request, post_only=True), tool_config(), launch_data_storage=launch_storage()
    )
    message_launch.set_public_key_caching(launch_storage(), cache_lifetime=settings.LTI_JWKS_CACHE_SECONDS)
    try:
        message_launch.validate()
    except LtiException as error:
        raise LaunchRefused(f"The LMS's launch was refused: {error}") from error
    launch = LtiLaunch(message_launch)
    _check_azp(launch)
    _use_nonce_once(launch)
    return launch


def launch_from_cache(launch_id: str, request) -> LtiLaunch:
    """A launch validated earlier in this session (deep linking answers after a page or two)."""
    try:
        message_launch = DjangoMessageLaunch.from_cache(
            launch_id, FramedRequest(request), tool_config(), launch_data_storage=launch_storage()
        )
    except LtiException as error:
        raise LaunchRefused("This LMS launch has expired: launch the tool from your LMS again.") from error
    return LtiLaunch(message_launch)


def _check_azp(launch: LtiLaunch) -> None:
    aud = launch.get_claim("aud")
    client_id = launch.registration.client_id
    azp = launch.get_claim("azp")
    if (isinstance(aud, list) and len(aud) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise LaunchRefused("The LMS's launch was refused: the token was issued to another party (azp).")


def _use_nonce_once(launch: LtiLaunch) -> None:
    # cache.add is atomic (SET NX in Redis): of two replays racing, one wins.
    nonce = launch.get_claim("nonce")
    key = f"lti:nonce-used:{launch.registration.pk}:{nonce}"
    if not cache.add(key, 1, timeout=settings.LTI_NONCE_SECONDS):
        raise LaunchRefused("The LMS's launch was refused: this launch was already used (replayed nonce).")


@dataclass
class Person:
    user: object
    created: bool


@transaction.atomic
def account_for(lti_user: LtiUser) -> Person:
    """The platform account of an LTI identity, made on its first launch (no usable password;
    names from the launch). Never matched by e-mail (see the module's docstring)."""
    lti_user = LtiUser.objects.select_for_update().get(pk=lti_user.pk)
    if lti_user.auth_user_id is None:
        same_person = (
            LtiUser.objects.filter(
                registration__issuer=lti_user.registration.issuer, sub=lti_user.sub, auth_user__isnull=False
            )
            .exclude(pk=lti_user.pk)
            .first()
        )
        created = same_person is None
        user = same_person.auth_user if same_person else _new_account(lti_user)
        lti_user.auth_user = user
        lti_user.save(update_fields=["auth_user", "datetime_modified"])
        return Person(user, created)
    return Person(lti_user.auth_user, False)


def _new_account(lti_user: LtiUser):
    User = get_user_model()
    email = lti_user.email or ""
    if email and User.objects.filter(email__iexact=email).exists():
        email = ""  # kept on the LTI identity; two accounts with one address confuse the roster
    # Readable (the page header shows it) and never guessable from the LMS alone.
    who = slugify(lti_user.name or f"{lti_user.given_name} {lti_user.family_name}".strip())[:40] or "lms-user"
    user = User.objects.create_user(
        f"{who}-{uuid4().hex[:6]}",
        email=email,
        first_name=(lti_user.given_name or "")[:150],
        last_name=(lti_user.family_name or "")[:150],
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    return user
