"""Token authentication, per-token throttling and the scope check."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions, throttling

from api.models import ApiToken
from courses.models import STAFF_ROLES, Membership


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


def has_scope(request, scope: str, course=None) -> bool:
    """Tokens: the scope and the course must be granted. People: by their role in the course
    (students read and submit their own work; staff may do everything)."""
    token = token_of(request)
    if token is not None:
        return scope in token.scopes and (course is None or token.courses.filter(pk=course.pk).exists())
    if course is None:
        return scope in ("read", "submit")
    role = Membership.objects.filter(user=request.user, course=course).values_list("role", flat=True).first()
    if role is None:
        return False
    return role in STAFF_ROLES or scope in ("read", "submit")


class ScopePermission(permissions.BasePermission):
    """View attribute ``scopes = {"GET": "read", "POST": "submit", ...}``; course-level checks
    happen in the views, where the course is known (DRF does not run object checks on create)."""

    message = "This token or account may not do that."

    def has_permission(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers 401 (NotAuthenticated) with the token scheme to use
        needed = getattr(view, "scopes", {}).get(request.method, "read")
        token = token_of(request)
        return token is None or needed in token.scopes
