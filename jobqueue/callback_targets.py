"""Which callback URLs the service may post to, checked when a job is submitted and on every connection at delivery.

A callback may reach only a public address: not one of the IANA
special-purpose registries (IPv4 and IPv6: private, shared, loopback,
link-local, documentation, benchmarking, 6to4, Teredo, NAT64...), nor IPv4
multicast or reserved space, nor any IPv6 address outside global unicast
(2000::/3), which takes in the IPv4-compatible (::/96) and IPv4-mapped forms,
site-local and multicast. Every address a host resolves to must pass. Python's
``ipaddress`` is not enough on its own: ``is_global`` holds for ::/96,
64:ff9b::/96, 2002::/16, fec0::/10, 192.0.0.0/24 and 192.88.99.0/24 on the
Python this runs on, so the blocks are listed here.

At delivery the session's adapter resolves the URL's host, checks every
address and connects to the first: the address it checked, so a DNS answer
that changes after a check (rebinding) cannot redirect a callback inside the
network. A refused address is reported to the job's owner (a 422, or the
job's callback state), never logged, and never reaches the HTTP library.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_hardened import Config, HTTPSession

from jobqueue.settings import Settings

MAX_URL_LENGTH = 2048
SCHEMES = {"http": 80, "https": 443}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _table(entries: dict[str, str]) -> tuple[tuple[Network, str], ...]:
    return tuple((ipaddress.ip_network(network), name) for network, name in entries.items())


# The IANA IPv4 Special-Purpose Address Registry, every entry whatever its "globally reachable"
# column says (no webhook lives on an AS112 or AMT relay), plus multicast.
SPECIAL_V4 = _table(
    {
        "0.0.0.0/8": "'this network'",
        "10.0.0.0/8": "private-use",
        "100.64.0.0/10": "shared address space (carrier-grade NAT)",
        "127.0.0.0/8": "loopback",
        "169.254.0.0/16": "link-local",
        "172.16.0.0/12": "private-use",
        "192.0.0.0/24": "IETF protocol assignments",
        "192.0.2.0/24": "documentation",
        "192.31.196.0/24": "AS112",
        "192.52.193.0/24": "AMT",
        "192.88.99.0/24": "6to4 relay anycast",
        "192.168.0.0/16": "private-use",
        "192.175.48.0/24": "AS112 direct delegation",
        "198.18.0.0/15": "benchmarking",
        "198.51.100.0/24": "documentation",
        "203.0.113.0/24": "documentation",
        "224.0.0.0/4": "multicast",
        "240.0.0.0/4": "reserved",
        "255.255.255.255/32": "limited broadcast",
    }
)
# Only 2000::/3 holds global unicast; the registry's blocks outside it are named for the message.
GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
SPECIAL_V6 = _table(
    {
        "::/128": "unspecified",
        "::1/128": "loopback",
        "::ffff:0:0/96": "IPv4-mapped",
        "::/96": "IPv4-compatible",
        "64:ff9b::/96": "NAT64",
        "64:ff9b:1::/48": "local-use NAT64",
        "100::/64": "discard-only",
        "2001::/32": "Teredo",
        "2001:2::/48": "benchmarking",
        "2001:db8::/32": "documentation",
        "2001::/23": "IETF protocol assignments",
        "2002::/16": "6to4",
        "2620:4f:8000::/48": "AS112 direct delegation",
        "3fff::/20": "documentation",
        "5f00::/16": "segment routing",
        "fc00::/7": "unique-local",
        "fe80::/10": "link-local",
        "fec0::/10": "site-local",
        "ff00::/8": "multicast",
    }
)
LOOPBACK = (ipaddress.IPv4Network("127.0.0.0/8"), ipaddress.IPv6Network("::1/128"))


class UnsafeCallbackUrl(ValueError):
    """The URL is not one the service will post to; the message says why."""


class RefusedAddress(requests.ConnectionError):
    """Raised on connecting, as requests' own errors are: the host now resolves to an address callbacks may not reach.

    Not a ValueError: requests would turn one into InvalidURL.
    """


def refusal(address: Address, allow_loopback: bool = False) -> str | None:
    """Why callbacks may not reach ``address`` (the block it is in), or None if they may."""
    if allow_loopback and any(address in network for network in LOOPBACK):
        return None
    for network, name in SPECIAL_V4 if address.version == 4 else SPECIAL_V6:
        if address in network:
            return f"{name} ({network})"
    if isinstance(address, ipaddress.IPv6Address) and address not in GLOBAL_UNICAST_V6:
        return f"not global unicast (outside {GLOBAL_UNICAST_V6})"
    return None


def checked_address(host: str, port: int, allow_loopback: bool) -> Address:
    """The address to connect to for ``host``: it resolves, and to allowed addresses only; else UnsafeCallbackUrl."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise UnsafeCallbackUrl(f"the host {host} does not resolve") from None
    # A zone (fe80::1%eth0) names an interface, not an address.
    addresses = [ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]) for *_, sockaddr in found]
    for address in addresses:
        reason = refusal(address, allow_loopback)
        if reason is not None:
            where = f"{host} resolves to {address}, which" if str(address) != host else host
            raise UnsafeCallbackUrl(f"{where} is {reason}: callbacks may only reach public addresses")
    return addresses[0]


def check_callback_url(url: str, settings: Settings) -> None:
    """Raise UnsafeCallbackUrl unless ``url`` is http(s) and its host resolves to allowed addresses only."""
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
    if not settings.callback_allow_private:
        checked_address(parts.hostname, port or SCHEMES[parts.scheme], settings.callback_allow_loopback)


class CheckedAddressAdapter(HTTPAdapter):
    """Resolves each request's host itself, refuses a disallowed address, and connects to the address it checked.

    The request keeps the URL's host in its ``Host`` header, and over TLS in the
    SNI and certificate check, so receivers see no difference.
    """

    def __init__(self, allow_loopback: bool) -> None:
        super().__init__()
        self.allow_loopback = allow_loopback

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: bool | str, cert: str | tuple[str, str] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host, port = host_params["host"], host_params["port"]
        try:
            address = checked_address(host, port or SCHEMES[host_params["scheme"]], self.allow_loopback)
        except UnsafeCallbackUrl as exc:
            raise RefusedAddress(str(exc)) from None
        # A copy: the caller's headers may be shared between requests.
        request.headers = CaseInsensitiveDict(request.headers or {})
        request.headers["Host"] = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
        if host_params["scheme"] == "https":
            pool_kwargs["assert_hostname"] = host
            pool_kwargs["server_hostname"] = host
        host_params["host"] = f"[{address}]" if address.version == 6 else str(address)
        return host_params, pool_kwargs


def create_session(settings: Settings) -> requests.Session:
    """A session that refuses disallowed addresses at connect time, never follows redirects and times out."""
    session: requests.Session = HTTPSession(
        Config(
            # The address check is CheckedAddressAdapter's: requests-hardened's own misses ::/96 and logs hosts.
            ip_filter_enable=False,
            ip_filter_allow_loopback_ips=settings.callback_allow_loopback,
            never_redirect=True,
            default_timeout=(settings.callback_timeout_s, settings.callback_timeout_s),
            user_agent_override="scoring-service-callbacks/1",
        )
    )
    if not settings.callback_allow_private:
        for scheme in SCHEMES:
            session.mount(f"{scheme}://", CheckedAddressAdapter(settings.callback_allow_loopback))
    return session
