"""What a URL brings in: `<int:…>` stops at the largest row id in every URL, so a larger number is a 404 (the
SAML launch URL is public), never an OverflowError from the database driver; bytes that are not ASCII in a
raw query string are read like percent-escapes, never a UnicodeDecodeError."""
import pytest
from flask import request, url_for

from idp.platform.validation import MAX_ID
from idp.web.url_input import RowIdConverter


def test_every_int_in_a_url_is_a_row_id(app):
    converters = [c for rule in app.url_map.iter_rules() for c in rule._converters.values()
                  if c.regex == r"\d+"]
    assert converters and all(isinstance(c, RowIdConverter) and c.max == MAX_ID for c in converters)


@pytest.mark.parametrize("number", [str(MAX_ID + 1), "99999999999999999999", "9" * 5000])
def test_a_saml_launch_beyond_any_id_is_a_404(client, factory, number):
    factory.tenant("alpha")
    assert client.get(f"/t/alpha/saml/launch/{number}").status_code == 404


def test_urls_are_still_built(app):
    with app.test_request_context():
        assert url_for("saml.launch", tenant_slug="alpha", sp_id=MAX_ID) == f"/t/alpha/saml/launch/{MAX_ID}"


@pytest.mark.parametrize("raw, expected", [
    (b"next=\x80\xff", "%80%FF"),  # not UTF-8: kept percent-encoded, as werkzeug does with "%80%FF"
    (b"next=%E3%81%82", "\u3042"),
    ("next=\u3042".encode(), "\u3042"),  # UTF-8 sent raw
])
def test_a_raw_query_string_is_read_like_an_encoded_one(app, raw, expected):
    with app.test_request_context("/login", environ_overrides={"QUERY_STRING": raw.decode("latin-1")}):
        assert request.args["next"] == expected


def test_raw_bytes_in_the_query_string_of_a_page_are_no_error(client):
    response = client.get("/login", environ_overrides={"QUERY_STRING": "next=\x80&ui_locales=\xff"})
    assert response.status_code == 200


@pytest.mark.parametrize("method, url, data", [
    ("GET", "/t/acme/oidc/authorize?response_type=code&client_id=a%00b&scope=openid", None),
    ("GET", "/t/acme/oidc/logout?client_id=%00", None),
    ("GET", "/t/a%00b/login", None),
    ("POST", "/login", {"email": "taro@acme.example.com\x00", "password": "x"}),
])
def test_a_nul_character_is_a_400_page(client, factory, method, url, data):
    factory.tenant()
    response = client.open(url, method=method, data=data)
    assert response.status_code == 400 and "リクエストが正しくありません。" in response.get_data(as_text=True)


def test_a_nul_character_at_the_token_endpoint_is_an_oauth_error(client, factory):
    factory.tenant()
    response = client.post("/t/acme/oidc/token", data={"grant_type": "client_credentials", "client_id": "a\x00"})
    assert response.status_code == 400 and response.json["error"] == "invalid_request"
