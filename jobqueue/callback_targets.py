"""Which callback URLs the service may post to, checked when a job is submitted and again at delivery.

The address rules are requests-hardened's: a host must resolve to a public
address (not private, loopback, link-local, multicast, reserved, CG-NAT...)
unless the settings allow loopback, or every address. At delivery its
session connects to the very address it checked, so a DNS answer that changes
after the check (rebinding) cannot redirect a callback inside the network.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress, filter_host

from jobqueue.settings import Settings

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}


class UnsafeCallbackUrl(ValueError):
    """The URL is not one the service will post to; the message says why."""


def check_callback_url(url: str, settings: Settings) -> None:
    """Raise UnsafeCallbackUrl unless ``url`` is http(s) and its host resolves to an allowed address."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeCallbackUrl(f"at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeCallbackUrl(f"not a valid URL: {exc}") from None
    if parts.scheme not in SCHEMES:
        raise UnsafeCallbackUrl("only http and https URLs are accepted")
    if not parts.hostname:
        raise UnsafeCallbackUrl("the URL has no host")
    if settings.callback_allow_private:
        return
    try:
        filter_host(parts.hostname, port or SCHEMES[parts.scheme], allow_loopback=settings.callback_allow_loopback)
    except InvalidIPAddress as exc:
        where = parts.hostname if str(exc) == parts.hostname else f"{parts.hostname} resolves to {exc}, which"
        raise UnsafeCallbackUrl(
            f"{where} is an address callbacks may not reach (private, loopback, link-local or reserved)"
        ) from None
    except requests.RequestException:
        raise UnsafeCallbackUrl(f"the host {parts.hostname} does not resolve") from None


def create_session(settings: Settings) -> requests.Session:
    """A session that refuses disallowed addresses at connect time, never follows redirects and times out."""
    session: requests.Session = HTTPSession(
        Config(
            ip_filter_enable=not settings.callback_allow_private,
            ip_filter_allow_loopback_ips=settings.callback_allow_loopback,
            never_redirect=True,
            default_timeout=(settings.callback_timeout_s, settings.callback_timeout_s),
            user_agent_override="scoring-service-callbacks/1",
        )
    )
    return session
