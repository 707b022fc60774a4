"""API tokens for integrations (LMSs, scripts) and idempotency records."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

# "courses": create courses, if the token's owner may (courses.policy.may_create_courses).
SCOPES = ("read", "submit", "grades", "manage", "courses")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(models.Model):
    """Shown once at creation (``grd_<prefix>_<secret>``); only a SHA-256 of it is stored.
    A random 256-bit secret needs no slow hash: there is nothing to brute-force."""

    name = models.CharField(max_length=100, help_text="Which integration uses it, e.g. Canvas production")
    prefix = models.CharField(max_length=12, unique=True, editable=False)
    digest = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list, help_text=f"Any of {', '.join(SCOPES)}")
    courses = models.ManyToManyField("courses.Course", related_name="api_tokens")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} (grd_{self.prefix}_…)"

    @classmethod
    def issue(cls, name: str, scopes, courses, created_by, expires_at=None) -> tuple[ApiToken, str]:
        """Create a token; returns it and the plain text, which is never stored."""
        unknown = set(scopes) - set(SCOPES)
        if unknown or not scopes:
            raise ValueError(f"scopes must be a non-empty subset of {', '.join(SCOPES)}")
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        token = cls.objects.create(
            name=name,
            prefix=prefix,
            digest=_digest(secret),
            scopes=sorted(set(scopes)),
            created_by=created_by,
            expires_at=expires_at,
        )
        token.courses.set(courses)
        return token, f"grd_{prefix}_{secret}"

    @classmethod
    def find(cls, presented: str) -> ApiToken | None:
        """The live token matching ``presented``, or None (unknown, wrong, revoked or expired)."""
        try:
            _, prefix, secret = presented.split("_", 2)
        except ValueError:
            return None
        token = cls.objects.filter(prefix=prefix).first()
        if token is None or not hmac.compare_digest(token.digest, _digest(secret)):
            return None
        return token if token.is_live else None

    @property
    def is_live(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def revoke(self) -> None:
        self.revoked_at = timezone.now()
        self.save(update_fields=["revoked_at"])


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key; a retry gets it again."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_digest = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "key"], name="one_answer_per_idempotency_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.status_code}"
