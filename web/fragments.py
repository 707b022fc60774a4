"""Renderings that are the same for every reader, kept instead of made again per request.

A statement's Markdown and a submission's highlighted code change only when their text does,
so they are cached under their content (a changed text is a new key; nothing to invalidate).
Statements are few and small: kept in each process. Code listings can be large: kept in the
shared cache, under a hash of everything they are made from.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging

from django.core.cache import cache
from django.utils.safestring import SafeString

from courses.markdown import render as render_markdown
from grading.presentation import Listing, code_listings

log = logging.getLogger(__name__)

LISTING_SECONDS = 24 * 3600


@functools.lru_cache(maxsize=256)
def statement_html(text: str) -> SafeString:
    return render_markdown(text)


def listings(files: dict[str, str], main_file: str, hint_line: int | None) -> list[Listing]:
    """grading.presentation.code_listings, made once per content."""
    made_from = json.dumps([files, main_file, hint_line], sort_keys=True)
    key = "listing:" + hashlib.sha256(made_from.encode()).hexdigest()
    try:
        found = cache.get(key)
    except Exception:  # noqa: BLE001 - the cache is an optimisation: render instead
        log.exception("listing cache unavailable")
        return code_listings(files, main_file, hint_line)
    if found is None:
        found = code_listings(files, main_file, hint_line)
        try:
            cache.set(key, found, LISTING_SECONDS)
        except Exception:  # noqa: BLE001 - served uncached
            log.exception("listing not cached")
    return found
