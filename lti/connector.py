"""Calls from the tool to an LMS's services (AGS, NRPS), through pylti1p3's ServiceConnector.

The library signs the client-assertion JWT and asks the LMS's token endpoint for an access
token (OAuth2 client credentials); this module adds what a worker fleet needs on top:

- the token is kept in the shared cache (Redis) until shortly before its ``expires_in``, so
  every task on every worker reuses it instead of asking for a new one per grade;
- a 401 from a service drops the cached token and tries once more with a fresh one (the LMS
  may revoke tokens before they expire);
- every HTTP call has a timeout (``LTI_SERVICE_TIMEOUT_SECONDS``): a hung LMS fails the task,
  which retries, instead of holding a worker forever.
"""

from __future__ import annotations

import hashlib
import typing as t

import requests
from django.conf import settings
from django.core.cache import cache
from lti_tool.models import LtiRegistration
from pylti1p3.exception import LtiServiceException
from pylti1p3.service_connector import ServiceConnector, TServiceConnectorResponse

# Tokens are dropped this long before the LMS says they expire: a call made with a token
# about to expire would fail on the way.
EXPIRY_MARGIN_SECONDS = 30
DEFAULT_TOKEN_SECONDS = 300  # when the LMS's answer has no usable expires_in


class _TimedSession(requests.Session):
    """A session whose calls time out, and that remembers its last answer (the token
    endpoint's, right after ServiceConnector.get_access_token)."""

    last: requests.Response | None = None

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", settings.LTI_SERVICE_TIMEOUT_SECONDS)
        self.last = super().request(method, url, *args, **kwargs)
        return self.last


class CachedTokenConnector(ServiceConnector):
    """pylti1p3's connector with the access token in the shared cache (see the module's docstring)."""

    def __init__(self, registration: LtiRegistration):
        session = _TimedSession()
        session.headers["User-Agent"] = "grader-lti/1"
        super().__init__(registration.to_registration(), requests_session=session)
        self._session = session
        self._registration_key = registration.uuid

    def _cache_key(self, scopes: t.Sequence[str]) -> str:
        digest = hashlib.sha256("|".join(sorted(scopes)).encode()).hexdigest()[:32]
        return f"lti:service-token:{self._registration_key}:{digest}"

    def get_access_token(self, scopes: t.Sequence[str]) -> str:
        key = self._cache_key(scopes)
        token = cache.get(key)
        if token:
            return token
        self._access_tokens.clear()
        token = super().get_access_token(scopes)
        cache.set(key, token, timeout=self._lifetime(self._session.last))
        return token

    @staticmethod
    def _lifetime(answer: requests.Response | None) -> int:
        try:
            expires_in = int(answer.json()["expires_in"]) if answer is not None else DEFAULT_TOKEN_SECONDS
        except (ValueError, KeyError, TypeError):
            expires_in = DEFAULT_TOKEN_SECONDS
        return max(1, expires_in - EXPIRY_MARGIN_SECONDS)

    def drop_token(self, scopes: t.Sequence[str]) -> None:
        cache.delete(self._cache_key(scopes))
        self._access_tokens.clear()

    def make_service_request(
        self, scopes: t.Sequence[str], url: str, *args, **kwargs
    ) -> TServiceConnectorResponse:
        try:
            return super().make_service_request(scopes, url, *args, **kwargs)
        except LtiServiceException as error:
            if error.response.status_code != 401:
                raise
        self.drop_token(scopes)  # revoked or expired early: one more try with a fresh token
        return super().make_service_request(scopes, url, *args, **kwargs)


def connector_for(registration: LtiRegistration) -> CachedTokenConnector:
    return CachedTokenConnector(registration)


def describe(error: Exception) -> str:
    """What went wrong with a call, in words for course staff (and the delivery log)."""
    if isinstance(error, LtiServiceException):
        response = error.response
        return f"the LMS answered HTTP {response.status_code}: {response.text[:300]}"
    if isinstance(error, requests.Timeout):
        return f"the LMS did not answer within {settings.LTI_SERVICE_TIMEOUT_SECONDS:g} s"
    if isinstance(error, requests.RequestException):
        return f"the LMS could not be reached: {error}"[:500]
    return str(error)[:500]
