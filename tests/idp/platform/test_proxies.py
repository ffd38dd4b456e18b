"""IDP_TRUSTED_PROXIES parsed (hop count, addresses/CIDRs, bad values refused at start-up), the
rightmost-untrusted walk of X-Forwarded-For and the depth X-Forwarded-Proto is read at."""
import ipaddress

import pytest

from idp import create_app
from idp.platform.config import ConfigError, load_config
from idp.platform.proxies import TrustedAddresses, forwarded_scheme, parse_trusted_proxies

pytestmark = pytest.mark.sqlite_only  # no database involved


@pytest.mark.parametrize("value, expected", [
    (None, 0), ("", 0), ("  ", 0), ("0", 0), ("1", 1), (" 2 ", 2), (1, 1),
    ("10.0.0.5", (ipaddress.ip_network("10.0.0.5/32"),)),
    ("10.0.0.5, 192.0.2.0/24,::1", tuple(map(ipaddress.ip_network, ["10.0.0.5/32", "192.0.2.0/24", "::1/128"]))),
    ("2001:db8::/32", (ipaddress.ip_network("2001:db8::/32"),)),
])
def test_valid_settings(value, expected):
    assert parse_trusted_proxies(value) == expected


@pytest.mark.parametrize("value, message", [
    ("yes", "'yes' is not an address or network"),
    ("-1", "'-1' is not an address or network"),
    ("1,10.0.0.5", "'1' is not an address or network"),
    ("10.0.0.5,", "'' is not an address or network"),
    ("10.0.0.5/8", "'10.0.0.5/8' is not an address or network (10.0.0.5/8 has host bits set)"),
    ("10.0.0.0/33", "'10.0.0.0/33' is not an address or network"),
    ("proxy.example.com", "'proxy.example.com' is not an address or network"),
    ("99", "99 hops is more than 32"),
    (True, "must be a number of hops or addresses/CIDRs"),
])
def test_bad_settings_are_refused(value, message):
    with pytest.raises(ConfigError) as error:
        parse_trusted_proxies(value)
    assert str(error.value).startswith("IDP_TRUSTED_PROXIES")
    assert message in str(error.value)


def test_bad_setting_stops_the_app_at_startup(tmp_path, monkeypatch):
    monkeypatch.setenv("IDP_TRUSTED_PROXIES", "10.0.0.300")
    assert load_config()["IDP_TRUSTED_PROXIES"] == "10.0.0.300"
    with pytest.raises(ConfigError, match=r"IDP_TRUSTED_PROXIES: '10\.0\.0\.300' is not an address"):
        create_app({"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_SECRET_KEY": "test-secret-key",
                    "IDP_MAIL_TRANSPORT": "outbox", "TESTING": True})
    assert not (tmp_path / "instance" / "idp.sqlite3").exists()  # refused before the database is touched


def test_default_is_no_proxy():
    assert load_config({})["IDP_TRUSTED_PROXIES"] == ""


TRUSTED = TrustedAddresses(None, parse_trusted_proxies("10.0.0.0/8, 192.0.2.1"))


@pytest.mark.parametrize("forwarded_for, client, depth", [
    ("", None, 1),
    ("203.0.113.7", "203.0.113.7", 1),
    ("203.0.113.7, 10.1.2.3", "203.0.113.7", 2),  # client → edge proxy 10.1.2.3 → 10.x (REMOTE_ADDR)
    ("6.6.6.6, 203.0.113.7, 192.0.2.1, 10.1.2.3", "203.0.113.7", 3),  # what the client wrote is left of it
    ("10.9.9.9, 203.0.113.7", "203.0.113.7", 1),  # a forged "trusted" address left of the client: ignored
    ("10.9.9.9, 10.1.2.3", "10.9.9.9", 3),  # every hop trusted: the leftmost
    ("unknown, 10.1.2.3", "10.1.2.3", 2),  # not an address: the walk stops at the nearest trusted hop
    ("203.0.113.7, garbage", None, 1),
    ("::ffff:203.0.113.7", "203.0.113.7", 1),  # IPv4-mapped IPv6 as IPv4
    ("2001:db8::7 , 10.1.2.3", "2001:db8::7", 2),
])
def test_rightmost_untrusted_address_is_the_client(forwarded_for, client, depth):
    found, found_depth = TRUSTED.client(forwarded_for)
    assert (str(found) if found else None, found_depth) == (client, depth)


@pytest.mark.parametrize("forwarded_proto, depth, scheme", [
    ("", 1, None),
    ("https", 1, "https"),
    ("HTTPS", 1, "https"),
    ("https, http", 1, "http"),  # the client said https, our proxy (rightmost) says http
    ("http, https, http", 2, "https"),  # two trusted proxies appended: the first one's value
    ("https", 3, "https"),  # the trusted proxies replaced the value instead of appending
    ("gopher", 1, None),
])
def test_forwarded_scheme_is_read_at_the_trusted_depth(forwarded_proto, depth, scheme):
    assert forwarded_scheme(forwarded_proto, depth) == scheme
