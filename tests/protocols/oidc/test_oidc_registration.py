"""`idp app add-oidc` and the registration rules (URIs, hashed secret, app row, portal tile)."""
import json

import pytest
from sqlalchemy import select

from idp.logs.audit import OPERATOR
from idp.models import App, OidcClient
from idp.oidc import clients as oidc_clients
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.platform.random_tokens import digest
from idp.tenancy import tenants


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=list(args))


def test_add_oidc_prints_ids_and_secret_once_and_stores_its_digest(cli, app, acme, factory):
    factory.group("acme", "営業部")
    result = cli("app", "add-oidc", "--tenant", "acme", "--name", "経費精算", "--redirect-uri",
                 "https://rp.example.com/cb", "--redirect-uri", "http://127.0.0.1:8765/cb",
                 "--post-logout-redirect-uri", "https://rp.example.com/bye", "--backchannel-logout-uri",
                 "https://rp.example.com/bc", "--initiate-login-uri", "https://rp.example.com/login",
                 "--group", "営業部", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"app_id", "client_id", "client_secret"}
    with app.app_context():
        row = db.session.scalar(select(OidcClient).where(OidcClient.client_id == data["client_id"]))
        assert row.client_secret_hash == digest(data["client_secret"])
        assert data["client_secret"] not in json.dumps([row.client_secret_hash, row.redirect_uris])
        assert row.redirect_uri_list == ["https://rp.example.com/cb", "http://127.0.0.1:8765/cb"]
        app_row = db.session.get(App, data["app_id"])
        assert app_row.protocol == "oidc" and app_row.launch_url == "https://rp.example.com/login"
        assert [g.name for g in app_row.groups] == ["営業部"]


def test_add_oidc_public_client_has_no_secret(cli, acme):
    result = cli("app", "add-oidc", "--tenant", "acme", "--name", "SPA", "--redirect-uri",
                 "https://spa.example.com/cb", "--public", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["client_secret"] is None


@pytest.mark.parametrize("uri", ["http://rp.example.com/cb", "http://127.0.0.1/cb", "https://rp.example.com/cb#x",
                                 "javascript:alert(1)", "rp.example.com/cb"])
def test_redirect_uris_must_be_https_or_loopback_with_port(app, acme, clock, uri):
    with app.app_context():
        with pytest.raises(ValidationError) as raised:
            oidc_clients.register(
                tenants.get_by_slug("acme"), oidc_clients.ClientSettings(
                    name="x", redirect_uris=[uri]),
                now=clock.now(), actor=OPERATOR)
        assert "redirect_uri" in raised.value.errors


@pytest.mark.parametrize("field", ["backchannel_logout_uri", "initiate_login_uri"])
def test_other_uris_follow_the_same_rule(app, acme, clock, field):
    with app.app_context():
        with pytest.raises(ValidationError) as raised:
            oidc_clients.register(
                tenants.get_by_slug("acme"), oidc_clients.ClientSettings(
                    name="x", redirect_uris=["https://a.example/cb"], **{field: "http://rp.example.com/x"}),
                now=clock.now(), actor=OPERATOR)
        assert field in raised.value.errors


def test_cli_bad_input_exits_non_zero_and_creates_nothing(cli, app, acme):
    result = cli("app", "add-oidc", "--tenant", "acme", "--name", "x", "--redirect-uri", "http://evil/cb", "--json")
    assert result.exit_code != 0 and result.output.count("\n") <= 2
    with app.app_context():
        assert db.session.scalars(select(App)).all() == []
