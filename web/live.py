"""The live part's conditional GET: "not modified" from the cache, without the database.

static/js/live.js sends back the ETag of the fragment it shows. A full answer (the view, after
the policy's check that this reader may see this submission) remembers, for 60 seconds, that
*this session* was shown *this version* of *this submission* (:func:`remember`). A poll is
answered 304 only when all of these hold, read from the cache alone (sessions are
``cached_db``): the session still exists and is still the same user's (a logout deletes it),
that session was granted this submission, the ETag it sends is the one it was given, and the
submission's version (grading.live) has not moved since. Anything else, including any cache
error, goes the full way through the view, which checks the permission again. So a 304 never
tells anyone anything about a submission that they were not shown by the full view, and a
lost right (a TA removed from the course) stops 304s within 60 seconds.
"""

from __future__ import annotations

import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified

from grading import live

log = logging.getLogger(__name__)

GRANT_SECONDS = 60
# grader.middleware's cookie: the fragment's times are rendered in the reader's zone.
TZ_COOKIE = "tz"


def _grant_key(session_key: str, submission_id: int) -> str:
    # Hashed: the cache never holds a usable session cookie under a guessable name.
    return "live:g:" + hashlib.sha256(f"{session_key}:{submission_id}".encode()).hexdigest()


def _etag(version: str, body: bytes) -> str:
    return f'"{version}.{hashlib.sha256(body).hexdigest()[:16]}"'


def not_modified(request: HttpRequest, submission_id: int) -> HttpResponse | None:
    """A 304 if the reader's copy is current (see the module's docstring); else None."""
    sent = request.headers.get("If-None-Match", "")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if request.method != "GET" or not sent or not session_key:
        return None
    try:
        grant_key, version_key = _grant_key(session_key, submission_id), live.version_key(submission_id)
        found = cache.get_many([grant_key, version_key])
        grant, version = found.get(grant_key), found.get(version_key)
        if (
            not grant
            or not version
            or sent != grant["etag"]
            or not grant["etag"].startswith(f'"{version}.')
            or request.COOKIES.get(TZ_COOKIE, "") != grant["tz"]
            or request.session.get(SESSION_KEY) != grant["user"]
        ):
            return None
    except Exception:  # noqa: BLE001 - the full view answers instead
        log.exception("live check failed", extra={"submission_id": submission_id})
        return None
    response = HttpResponseNotModified()
    response["ETag"] = sent
    return response


def current_version(submission_id: int) -> str | None:
    """The version to stamp on a fragment about to be rendered (read before the database)."""
    try:
        return live.version(submission_id)
    except Exception:  # noqa: BLE001 - no ETag of ours: the page still works, uncached
        log.exception("live version unavailable", extra={"submission_id": submission_id})
        return None


def remember(request: HttpRequest, submission_id: int, version: str | None, response: HttpResponse) -> None:
    """Stamp the fragment the reader was allowed to see, and grant its session 304s for it."""
    if version and response.status_code == 200:
        etag = _etag(version, response.content)
        if _grant(request, submission_id, etag):
            response["ETag"] = etag


def page_etag(request: HttpRequest, submission_id: int, version: str | None) -> str:
    """For the submission page, which shows the live part too: the ETag live.js starts with, so
    its first poll is a 304 as well ("" if there is none)."""
    etag = f'"{version}.{secrets.token_hex(8)}"' if version else ""
    return etag if etag and _grant(request, submission_id, etag) else ""


def _grant(request: HttpRequest, submission_id: int, etag: str) -> bool:
    session_key = request.session.session_key
    if not session_key:
        return False
    grant = {"etag": etag, "user": request.session.get(SESSION_KEY), "tz": request.COOKIES.get(TZ_COOKIE, "")}
    try:
        cache.set(_grant_key(session_key, submission_id), grant, GRANT_SECONDS)
    except Exception:  # noqa: BLE001 - without the grant the next poll takes the full way
        log.exception("live grant not stored", extra={"submission_id": submission_id})
        return False
    return True
