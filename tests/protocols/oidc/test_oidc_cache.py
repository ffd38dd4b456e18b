"""Per-process copies of tenant, client, group assignments and signing keys (idp.platform.config_cache): a change
made by another worker (a second app on the same database, with its own copies) is seen at the very
next request; and the token endpoint stays at a handful of statements."""
import pytest
from sqlalchemy import event, select

from idp import create_app, keys
from idp.authn.mfa import policy as mfa_policy
from idp.directory import groups
from idp.logs.audit import OPERATOR
from idp.models import Tenant
from idp.models.oidc import TOKEN_ACCESS, TOKEN_REFRESH, OidcClient, OidcToken
from idp.models.tenancy import TENANT_TERMINATED
from idp.platform.extensions import db
from idp.platform.random_tokens import digest
from idp.tenancy import tenants

OTHER_REDIRECT = "https://rp.example.com/other-callback"


@pytest.fixture
def other_worker(app):
    """Another process's app: same database and settings, separate per-process copies."""
    keep = ("IDP_INSTANCE_DIR", "IDP_DATABASE_URL", "IDP_SECRET_KEY", "IDP_BASE_URL", "IDP_MAIL_TRANSPORT",
            "IDP_MAIL_ASYNC", "IDP_CLOCK", "TESTING")
    other = create_app({k: app.config[k] if k != "IDP_CLOCK" else app.extensions["idp_clock"] for k in keep})
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _warm(rp, rp_client):
    """Fill this worker's copies (tenant, client, groups, keys)."""
    rp.full_login(rp_client)


def test_a_redirect_uri_changed_elsewhere_applies_at_the_next_request(rp, rp_client, other_worker):
    _warm(rp, rp_client)
    assert rp.authorize(rp_client, redirect_uri=OTHER_REDIRECT).status_code == 400
    with other_worker.app_context():
        row = db.session.scalar(select(OidcClient).where(OidcClient.client_id == rp_client.client_id))
        row.redirect_uris = OTHER_REDIRECT
        db.session.commit()
    assert rp.authorize(rp_client).status_code == 400  # the old URI is gone at once
    location = rp.authorize(rp_client, redirect_uri=OTHER_REDIRECT).headers["Location"]
    assert location.startswith(OTHER_REDIRECT + "?code=")


def test_an_app_taken_from_the_group_elsewhere_is_refused_at_the_next_request(rp, rp_client, other_worker, clock):
    body = rp.full_login(rp_client, scope="openid offline_access").get_json()
    with other_worker.app_context():
        default = groups.default_group(tenants.get_by_slug("acme"))
        default.apps = []
        db.session.commit()
    refused = rp.authorize(rp_client)
    assert "error=access_denied" in refused.headers["Location"]
    refresh = rp.token(rp_client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refresh.status_code == 400 and refresh.get_json()["error"] == "invalid_grant"


def test_mfa_required_elsewhere_makes_live_sessions_step_up_at_the_next_request(rp, rp_client, other_worker, clock):
    _warm(rp, rp_client)
    assert "code=" in rp.authorize(rp_client, prompt="none").headers["Location"]
    with other_worker.app_context():
        mfa_policy.set_policy(tenants.get_by_slug("acme"), "totp", now=clock.now(), actor=OPERATOR)
        db.session.commit()
    assert "error=login_required" in rp.authorize(rp_client, prompt="none").headers["Location"]


def test_keys_rotated_elsewhere_are_published_and_used_at_the_next_request(rp, rp_client, other_worker, clock):
    _warm(rp, rp_client)
    before = {k["kid"] for k in rp.http.get("/t/acme/oidc/jwks").get_json()["keys"]}
    with other_worker.app_context():
        new_kids = {row.kid for row in keys.rotate(tenants.get_by_slug("acme"), clock.now(), prepublish=0)}
        db.session.commit()
    published = {k["kid"] for k in rp.http.get("/t/acme/oidc/jwks").get_json()["keys"]}
    assert new_kids <= published and before <= published
    id_token = rp.exchange(rp_client, rp.code_from(rp.authorize(rp_client))).get_json()["id_token"]
    assert rp.verify(id_token, rp_client.client_id).header["kid"] in new_kids


def test_a_tenant_terminated_elsewhere_disappears_at_the_next_request(rp, rp_client, other_worker, clock):
    _warm(rp, rp_client)
    with other_worker.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "acme"))
        tenant.status, tenant.terminated_at = TENANT_TERMINATED, clock.now()
        db.session.commit()
    assert rp.http.get("/t/acme/.well-known/openid-configuration").status_code == 404
    assert rp.token(rp_client, {"grant_type": "client_credentials"}).status_code == 404


def test_a_rolled_back_change_leaves_the_copies_right(rp, rp_client, app):
    _warm(rp, rp_client)
    with app.app_context():
        row = db.session.scalar(select(OidcClient).where(OidcClient.client_id == rp_client.client_id))
        row.redirect_uris = OTHER_REDIRECT
        db.session.flush()
        db.session.rollback()
    assert rp.code_from(rp.authorize(rp_client))
    assert rp.authorize(rp_client, redirect_uri=OTHER_REDIRECT).status_code == 400


def _statements(app, call):
    """(response, first word of every SQL statement `call()` ran)."""
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement.split(None, 1)[0].upper())

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            response = call()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
    return response, statements


def test_the_token_endpoint_needs_five_statements(rp, rp_client, app):
    """Load-independent guard for the benchmark: version check, code (with account and group), the
    single-use UPDATE, grant and token INSERTs. Tenant, client, groups and keys come from the copies."""
    _warm(rp, rp_client)
    code = rp.code_from(rp.authorize(rp_client, scope="openid offline_access"))
    response, statements = _statements(app, lambda: rp.exchange(rp_client, code))
    assert response.status_code == 200 and "refresh_token" in response.get_json()
    assert len(statements) <= 5, statements
    assert rp.verify(response.get_json()["id_token"], rp_client.client_id).claims["aud"] == rp_client.client_id


def test_an_authorization_with_a_live_session_needs_four_statements(rp, rp_client, app):
    """Version check, SSO session with its account, login event and code INSERTs: client, groups and
    the MFA policy come from the copies."""
    _warm(rp, rp_client)
    response, statements = _statements(app, lambda: rp.authorize(rp_client))
    assert "code=" in response.headers["Location"]
    assert statements == ["SELECT", "SELECT", "INSERT", "INSERT"], statements


def test_a_refresh_needs_four_statements(rp, rp_client, app):
    """Version check, refresh token (with grant, account and group), the single-use UPDATE and one INSERT
    for both new tokens; the grant is neither reloaded nor rewritten."""
    _warm(rp, rp_client)
    body = rp.exchange(rp_client, rp.code_from(rp.authorize(rp_client, scope="openid offline_access"))).get_json()
    response, statements = _statements(app, lambda: rp.token(
        rp_client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}))
    assert response.status_code == 200
    assert statements == ["SELECT", "SELECT", "UPDATE", "INSERT"], statements
    again = rp.token(rp_client, {"grant_type": "refresh_token", "refresh_token": response.get_json()["refresh_token"]})
    assert again.status_code == 200


def test_the_rows_written_without_the_unit_of_work_are_complete(rp, rp_client, app, clock):
    """Grant and tokens go in with Core INSERTs: the rows carry every column, defaults included, and the
    hashes of exactly the tokens the client received."""
    body = rp.full_login(rp_client, scope="openid offline_access").get_json()
    with app.app_context():
        rows = db.session.scalars(select(OidcToken).where(OidcToken.token_hash.in_(
            [digest(body["access_token"]), digest(body["refresh_token"])]))).all()
        assert sorted(row.kind for row in rows) == [TOKEN_ACCESS, TOKEN_REFRESH]
        grant = rows[0].grant
        assert {row.grant_id for row in rows} == {grant.id} and grant.code_id is not None
        assert grant.revoked_at is None and grant.revoke_reason == "" and grant.amr == "pwd" and grant.sid
        assert grant.scope == "openid offline_access" and grant.account.email == "taro@acme.example.com"
        assert all(row.used_at is None and row.revoked_at is None and row.created_at == clock.now()
                   and row.expires_at > clock.now() and row.tenant_id == grant.tenant_id for row in rows)
