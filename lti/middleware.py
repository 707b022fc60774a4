"""Pages reached through an LTI launch live in the LMS's iframe.

- Framing: a session begun by a launch may be framed by that LMS's origins (a
  ``Content-Security-Policy: frame-ancestors`` naming them, in place of ``X-Frame-Options:
  DENY``). Every other session keeps DENY.
- Cookies: inside a frame on another site, a browser sends only ``SameSite=None; Secure``
  cookies, and browsers that block third-party cookies (Chromium's default now) keep only
  ``Partitioned`` ones (CHIPS: a cookie jar per top-level site, so the tool's session inside
  one LMS is not the tool's session anywhere else). The OIDC state cookie (``lti1p3-*``, set at login initiation, checked at launch) is
  sent that way always; the session, CSRF and messages cookies only in a session begun by a
  launch (without the last, "Attempt 1 received" and every other message is lost in the frame).
  Browsers take Secure cookies over https, and over http from localhost (development).
  ``LTI_FRAMED_COOKIES=false`` turns the cookie part off (e.g. an http-only test set-up on
  another host name, where the LMS then opens the tool in a new window).
"""

from __future__ import annotations

from http.cookies import Morsel

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage

FRAME_ANCESTORS = "lti_frame_ancestors"


class LtiFramingMiddleware:
    """First in MIDDLEWARE, so it sees the response after the session, CSRF and X-Frame-Options
    middleware have set their cookies and headers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        ancestors = session.get(FRAME_ANCESTORS) if session is not None and session.session_key else None
        if ancestors:
            if "X-Frame-Options" in response:
                del response["X-Frame-Options"]
            response["Content-Security-Policy"] = "frame-ancestors 'self' " + " ".join(ancestors)
        if settings.LTI_FRAMED_COOKIES:
            names = {n for n in response.cookies if n.startswith("lti1p3-")}
            if ancestors:
                framed = {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, CookieStorage.cookie_name}
                names |= framed & set(response.cookies)
            for name in names:
                response.cookies[name]["samesite"] = "None"
                response.cookies[name]["secure"] = True
                dict.__setitem__(response.cookies, name, _partitioned(response.cookies[name]))
        return response


class PartitionedMorsel(Morsel):
    """Python learns the Partitioned attribute only in 3.14; Django has no argument for it."""

    def OutputString(self, attrs=None):
        return super().OutputString(attrs) + "; Partitioned"


def _partitioned(morsel: Morsel) -> Morsel:
    copy = PartitionedMorsel()
    copy.update(morsel)
    copy.set(morsel.key, morsel.value, morsel.coded_value)
    return copy
