"""Which webhook URLs may be used: every spelling of an internal address is refused, public hosts pass, and the
allow-list opens exactly the networks it names. Numeric spellings go through the system resolver, as in
production (it reads 127.1 and 2130706433 the way a connection would)."""

from __future__ import annotations

import pytest

from app.core.config import Settings
from app.webhooks.network import TargetRefused, check_url

REFUSED = {
    # loopback, however it is written
    "https://127.0.0.1/h": "loopback",
    "https://localhost/h": "loopback",
    "https://127.1/h": "loopback",
    "https://2130706433/h": "loopback",
    "https://0x7f000001/h": "loopback",
    "https://0177.0.0.1/h": "loopback",
    "https://127.0.0.1.:8443/h": "does not resolve",
    "https://[::1]/h": "loopback",
    "https://[::ffff:127.0.0.1]/h": "loopback",
    "https://0.0.0.0/h": "unspecified",
    "https://[::]/h": "unspecified",
    # private, link-local, metadata, unique-local, shared, multicast, reserved
    "https://10.1.2.3/h": "private",
    "https://172.16.0.1/h": "private",
    "https://172.31.255.254/h": "private",
    "https://192.168.1.10/h": "private",
    "https://100.64.0.1/h": "private",
    "https://169.254.169.254/latest/meta-data": "link-local",
    "https://[fe80::1]/h": "link-local",
    "https://[fd00::1]/h": "private",
    "https://[fd00:ec2::254]/h": "metadata",
    "https://100.100.100.200/h": "metadata",
    "https://224.0.0.1/h": "multicast",
    "https://[ff02::1]/h": "multicast",
    "https://240.0.0.1/h": "private or reserved",
    "https://[::ffff:10.0.0.1]/h": "private",
    # an IPv4 inside an IPv6 address is judged as itself: 6to4, Teredo (the client) and NAT64
    "https://[2002:7f00:0001::]/h": "loopback",  # 6to4 of 127.0.0.1
    "https://[2002:c0a8:0101::]/h": "private",  # 192.168.1.1
    "https://[2002:0a00:0001::]/h": "private",  # 10.0.0.1
    "https://[2002:a9fe:a9fe::]/h": "link-local",  # 169.254.169.254
    "https://[2001:0:4136:e378:8000:63bf:80ff:fffe]/h": "loopback",  # Teredo client 127.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/h": "private",  # Teredo client 10.0.0.1
    "https://[64:ff9b::7f00:1]/h": "loopback",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a00:1]/h": "private",  # NAT64 of 10.0.0.1
    # and the ranges themselves stay closed with a public IPv4 inside (6to4 on every Python, see network.py)
    "https://[2002:808:808::]/h": "private or reserved",  # 6to4 of 8.8.8.8
    "https://[2001:0:4136:e378:8000:63bf:f7f7:f7f7]/h": "private or reserved",  # Teredo client 8.8.8.8
    "https://[64:ff9b::808:808]/h": "private or reserved",  # NAT64 of 8.8.8.8
    # forms that hide the host or leave the rules
    "https://user:pw@93.184.215.14/h": "user name",
    "https://93.184.215.14@127.0.0.1/h": "user name",
    "http://93.184.215.14/h": "http is not allowed",
    "ftp://93.184.215.14/h": "https",
    "https:///h": "no host",
    "https://93.184.215.14:99999/h": "port",
    "https://93.184.215.14/h\r\nX-Injected: 1": "control characters",
    "https://no-such-host.invalid/h": "does not resolve",
}


@pytest.mark.parametrize("url", sorted(REFUSED))
def test_internal_and_malformed_targets_are_refused(url):
    with pytest.raises(TargetRefused) as refused:
        check_url(url, Settings())
    assert REFUSED[url] in str(refused.value)


@pytest.mark.parametrize("url", ["https://93.184.215.14/h", "https://app.example/hooks", "https://[2606:4700::1]/h"])
def test_public_targets_pass(url):
    check_url(url, Settings())


def test_a_host_with_one_internal_address_among_public_ones_is_refused(offline_resolver):
    offline_resolver["mixed.example"] = ["93.184.215.14", "10.0.0.7"]
    with pytest.raises(TargetRefused, match="private"):
        check_url("https://mixed.example/h", Settings())


def test_the_allow_list_opens_the_networks_it_names_and_no_others():
    settings = Settings(webhook_allowed_networks="127.0.0.0/8, 10.20.0.0/16", webhook_allow_http=True)
    check_url("http://127.0.0.1:9000/h", settings)
    check_url("https://10.20.3.4/h", settings)
    with pytest.raises(TargetRefused, match="private"):
        check_url("https://10.21.0.1/h", settings)
    with pytest.raises(TargetRefused, match="link-local"):
        check_url("https://169.254.169.254/h", settings)


@pytest.mark.parametrize(
    ("network", "public", "loopback"),
    [
        ("2002::/16", "2002:808:808::", "2002:7f00:1::"),
        ("2001::/32", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", "2001:0:4136:e378:8000:63bf:80ff:fffe"),
        ("64:ff9b::/96", "64:ff9b::808:808", "64:ff9b::7f00:1"),
    ],
)
def test_allowing_a_range_that_carries_ipv4_does_not_open_the_internal_ipv4_inside(network, public, loopback):
    settings = Settings(webhook_allowed_networks=network)
    check_url(f"https://[{public}]/h", settings)
    with pytest.raises(TargetRefused, match="loopback"):
        check_url(f"https://[{loopback}]/h", settings)


def test_the_allow_list_opens_an_ipv4_inside_6to4_as_far_as_it_opens_the_ipv4():
    settings = Settings(webhook_allowed_networks="2002::/16, 10.20.0.0/16")
    check_url("https://[2002:a14:304::]/h", settings)  # 10.20.3.4
    with pytest.raises(TargetRefused, match="private"):
        check_url("https://[2002:a15:1::]/h", settings)  # 10.21.0.1
    # The IPv4 alone does not open the 6to4 range around it.
    with pytest.raises(TargetRefused, match="private or reserved"):
        check_url("https://[2002:a14:304::]/h", Settings(webhook_allowed_networks="10.20.0.0/16"))


def test_a_bad_allow_list_stops_the_process_at_start():
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings(webhook_allowed_networks="10.0.0.0/33")
