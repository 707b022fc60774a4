"""Safe Markdown: rendered with python-markdown, then sanitised with nh3 (no scripts,
no event handlers, no javascript: links), so a statement cannot attack its readers."""

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = nh3.ALLOWED_TAGS | {
    "pre",
    "code",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "p",
    "hr",
    "span",
}


def render(text: str) -> SafeString:
    html = md.markdown(text or "", extensions=["fenced_code", "tables", "sane_lists"])
    return mark_safe(nh3.clean(html, tags=ALLOWED_TAGS))  # noqa: S308 - sanitised just above
