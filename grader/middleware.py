"""Render and parse times in the reader's own time zone.

static/js/live.js stores the browser's IANA zone (Intl) in the ``tz`` cookie; this middleware
activates it for the request, so deadlines shown by the server and typed into forms (a
``datetime-local`` input has no zone) mean the reader's local time. A missing or unknown zone
falls back to settings.TIME_ZONE. The cookie only changes how times are displayed and parsed,
never who may do what."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone

COOKIE = "tz"


def zone_from(name: str | None) -> zoneinfo.ZoneInfo | None:
    if not name or len(name) > 64:
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class TimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from(request.COOKIES.get(COOKIE))
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
