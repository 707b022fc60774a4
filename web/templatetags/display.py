"""``{% load display %}``: small presentation filters."""

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def breakable_email(address: str):
    """An e-mail address that may wrap after its "@" (never inside a word) in narrow columns."""
    local, at, domain = (address or "").rpartition("@")
    return format_html("{}@<wbr>{}", local, domain) if at else address


@register.filter
def error_count(form) -> int:
    """How many messages a bound form's error list shows (a field may have several)."""
    return sum(len(messages) for messages in form.errors.values())


@register.filter
def inline_code(text: str):
    """Plain text whose `backticked` parts are code (as findings and hints write them): escaped
    first, then each backticked run shown as <code>, never as literal backticks."""
    parts = str(text or "").split("`")
    if len(parts) % 2 == 0:  # an odd number of backticks: no pairing to trust
        return escape(text)
    return mark_safe(
        "".join(
            (format_html("<code>{}</code>", p) if p else "") if i % 2 else escape(p)
            for i, p in enumerate(parts)
        )
    )
