"""Callback URL checks: every address of the IANA special-purpose registries is refused, in every spelling tried.

Host names are IP literals in their many forms, or ``localhost``: nothing
here needs DNS.
"""

from __future__ import annotations

import ipaddress

import pytest

from jobqueue.callback_targets import SPECIAL_V4, SPECIAL_V6, UnsafeCallbackUrl, check_callback_url, refusal
from jobqueue.settings import Settings

STRICT = Settings()
LOOPBACK_ALLOWED = Settings(callback_allow_loopback=True)

REFUSED = [
    # IPv4 loopback, every way getaddrinfo reads it: decimal, hex, octal, short forms, case
    "http://127.0.0.1/hook",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f000001/",
    "http://0x7F.1/",
    "http://0177.0.0.1/",
    "http://017700000001/",
    "http://localhost/",
    "http://LocalHost:8080/",
    "http://①②⑦.0.0.1/",  # full-width digits, folded by IDNA
    # trailing dots: resolved as given, or not at all; never allowed
    "http://127.0.0.1./",
    "http://localhost./",
    # the rest of the IPv4 registry
    "http://0.0.0.0/",
    "http://0/",
    "http://10.1.2.3/",
    "http://100.64.0.1/",
    "http://169.254.169.254/latest/meta-data",
    "http://0xa9fea9fe/",
    "http://172.16.0.1/",
    "http://172.31.255.255/",
    "http://192.0.0.8/",
    "http://192.0.0.170/",
    "http://192.0.2.1/",
    "http://192.31.196.1/",
    "http://192.52.193.1/",
    "http://192.88.99.1/",
    "http://192.168.0.1/",
    "http://192.175.48.1/",
    "http://198.18.0.1/",
    "http://198.19.255.255/",
    "http://198.51.100.1/",
    "http://203.0.113.1/",
    "http://224.0.0.1/",
    "http://239.255.255.250/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    # IPv6 itself
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[FE80::1]/",
    "http://[fe80::1%25lo]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[fec0::1]/",
    "http://[ff02::1]/",
    "http://[ff0e::1]/",
    "http://[100::1]/",
    "http://[2001:db8::1]/",
    "http://[2001:2::1]/",
    "http://[2001:10::1]/",
    "http://[2001:20::1]/",
    "http://[3fff::1]/",
    "http://[5f00::1]/",
    "http://[2620:4f:8000::1]/",
    # IPv4 inside IPv6: compatible (::/96), mapped, NAT64, 6to4 and Teredo
    "http://[::127.0.0.1]/",
    "http://[::7f00:1]/",
    "http://[::a9fe:a9fe]/",
    "http://[::8.8.8.8]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::FFFF:7F00:1]/",
    "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
    "http://[::ffff:10.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[64:ff9b:1::a00:1]/",
    "http://[2002:7f00:1::1]/",  # 6to4 of 127.0.0.1
    "http://[2002:a9fe:a9fe::1]/",  # 6to4 of 169.254.169.254
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/",  # Teredo, client 127.0.0.1 (stored inverted)
    "http://[2001:0:4136:e378:8000:63bf:5601:5601]/",  # Teredo, client 169.254.169.254
    # not a host at all
    "http://name.invalid/",
    "http://%31%32%37.0.0.1/",
    "http://127.0.0.1%00.example/",
]


@pytest.mark.parametrize("url", REFUSED)
def test_every_special_purpose_address_is_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(url, STRICT)


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8/hook", "https://0x08080808/", "http://134744072/", "https://[2606:4700:4700::1111]:8443/x"]
)
def test_a_public_address_is_allowed_in_any_spelling(url: str) -> None:
    check_callback_url(url, STRICT)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/", "http://2130706433/", "http://localhost/", "http://[::1]/"])
def test_allowing_loopback_allows_loopback_only(url: str) -> None:
    check_callback_url(url, LOOPBACK_ALLOWED)
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(url, STRICT)


@pytest.mark.parametrize("url", ["http://[::127.0.0.1]/", "http://[::ffff:127.0.0.1]/", "http://10.0.0.1/"])
def test_allowing_loopback_does_not_allow_its_ipv6_embeddings_or_private_space(url: str) -> None:
    with pytest.raises(UnsafeCallbackUrl):
        check_callback_url(url, LOOPBACK_ALLOWED)


@pytest.mark.parametrize(
    "network", [network for network, _ in (*SPECIAL_V4, *SPECIAL_V6)], ids=lambda network: str(network)
)
def test_each_registry_block_is_refused_from_its_first_to_its_last_address(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network,
) -> None:
    assert refusal(network[0]) is not None and refusal(network[-1]) is not None


def test_the_message_names_the_block_and_the_address_it_came_from() -> None:
    with pytest.raises(UnsafeCallbackUrl, match=r"::7f00:1 is IPv4-compatible \(::/96\)"):
        check_callback_url("http://[::7f00:1]/", STRICT)
    with pytest.raises(UnsafeCallbackUrl, match=r"2130706433 resolves to 127\.0\.0\.1, which is loopback"):
        check_callback_url("http://2130706433/", STRICT)
