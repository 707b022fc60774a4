"""Token authentication, per-token throttling, and what a request may do in a course."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling

from api.models import ApiToken
from courses.models import Course
from courses.policy import NOTHING, Cap, token_capabilities, user_capabilities


class Integration:
    """The request.user of a token request: an integration, not a person."""

    is_authenticated, is_anonymous, is_active, pk = True, False, True, None

    def __init__(self, token: ApiToken):
        self.token = token
        self.username = f"token:{token.prefix}"

    def __str__(self) -> str:
        return self.username


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer grd_<prefix>_<secret>``."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header.startswith(self.keyword + " "):
            return None
        token = ApiToken.find(header[len(self.keyword) + 1 :].strip())
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, revoked or expired token.")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return Integration(token), token

    def authenticate_header(self, request):
        return self.keyword


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Per token (per user for browser sessions); 429 with Retry-After when exceeded."""

    scope = "token"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


def token_of(request) -> ApiToken | None:
    return request.auth if isinstance(request.auth, ApiToken) else None


def capabilities(request, course: Course) -> frozenset[Cap]:
    """What this request may do in ``course``, by the one policy (courses.policy): a token's
    scopes narrowed by its creator's role, bound to the token's courses; a session, the
    person's role."""
    token = token_of(request)
    if token is None:
        return user_capabilities(request.user, course)
    if not token.courses.filter(pk=course.pk).exists():
        return NOTHING
    return token_capabilities(token.scopes, token.created_by, course)


class Authenticated(permissions.BasePermission):
    """Anonymous callers get 401 with the token scheme to use. What an authenticated caller may
    do is decided per course, in the views (courses.policy through ``capabilities``): the
    course is only known there, and DRF runs no object checks on create."""

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated)
