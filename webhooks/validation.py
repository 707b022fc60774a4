"""Where a webhook may point: http(s) to a public host, unless the host is allow-listed."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError


def validate_url(url: str) -> None:
    """http(s) only, and no private, loopback or link-local target unless allow-listed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "The webhook URL must start with http:// or https:// and name a host."})
    host = parts.hostname
    if _allowed(host):
        return
    try:
        addresses = {
            info[4][0] for info in socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        }
    except socket.gaierror:
        raise ValidationError({"url": f"The host {host!r} does not resolve."}) from None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if not ip.is_global and not _allowed(str(ip)):
            raise ValidationError(
                {
                    "url": f"{host} resolves to {ip}, a private or local address; webhooks must go to a public host."
                }
            )


def _allowed(host: str) -> bool:
    for entry in settings.WEBHOOK_ALLOWED_HOSTS:
        if host == entry:
            return True
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
