"""Sessions read from the shared cache and kept in the database (Django's ``cached_db``), except
that a cache that does not answer is a cache miss: pages, and submitting, keep working on the
database while Redis is down (the submission row is the outbox; its message is sent later).

Logging out still fails loudly when the cache cannot forget the session: a cached copy that
outlived its logout would keep letting the old cookie in once the cache is back."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import cached_db, db

log = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            data = self._cache.get(self.cache_key)
        except Exception:  # noqa: BLE001 - any cache failure: the database has the session
            log.warning("session cache unavailable: reading the session from the database", exc_info=True)
            data = None
        if data is not None:
            return data
        stored = self._get_session_from_db()
        if not stored:
            return {}
        data = self.decode(stored.session_data)
        try:
            self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
        except Exception:  # noqa: BLE001 - the next request reads the database again
            log.warning("session cache unavailable: session not cached", exc_info=True)
        return data

    def exists(self, session_key):
        try:
            if session_key and (self.cache_key_prefix + session_key) in self._cache:
                return True
        except Exception:  # noqa: BLE001
            log.warning("session cache unavailable: asking the database", exc_info=True)
        return db.SessionStore.exists(self, session_key)
