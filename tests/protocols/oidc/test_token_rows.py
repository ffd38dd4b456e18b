"""What a token response writes (idp.oidc.tokens.store_tokens, Core statements outside the unit of work):
one grant per code exchange or client_credentials request, none per refresh, the digests of the tokens
and never the tokens, and a refreshed ID token still naming the user as the code's did."""
import hashlib

from sqlalchemy import func, select

from idp.models.oidc import OidcClient, OidcGrant, OidcToken
from idp.platform.extensions import db

OFFLINE = "openid profile offline_access"


def _rows(app, client_id):
    """(grants, tokens) of one client, read after the responses were committed."""
    with app.app_context():
        client_pk = db.session.scalar(select(OidcClient.id).where(OidcClient.client_id == client_id))
        grants = db.session.scalars(select(OidcGrant).where(OidcGrant.client_pk == client_pk)
                                    .order_by(OidcGrant.id)).all()
        tokens = db.session.scalars(select(OidcToken).where(OidcToken.grant_id.in_([g.id for g in grants]))
                                    .order_by(OidcToken.id)).all()
        db.session.expunge_all()
        return grants, tokens


def _digest(raw):
    return hashlib.sha256(raw.encode()).hexdigest()


def test_client_credentials_writes_one_grant_and_one_token_digest_per_request(rp, register, acme, app, clock):
    service = register(name="バッチ")
    answers = [rp.token(service, {"grant_type": "client_credentials", "scope": "reports"}).get_json()
               for _ in range(2)]
    grants, tokens = _rows(app, service.client_id)
    assert len(grants) == 2 and len(tokens) == 2
    for grant, token, answer in zip(grants, tokens, answers):
        assert (grant.account_id, grant.code_id, grant.sso_session_id, grant.auth_time) == (None, None, None, None)
        assert (grant.scope, grant.claims, grant.amr, grant.sid, grant.revoked_at, grant.revoke_reason) == (
            "reports", "", "", "", None, "")
        assert grant.created_at == clock.now()
        assert token.grant_id == grant.id and token.kind == "access" and token.scope == "reports"
        assert token.token_hash == _digest(answer["access_token"]) != answer["access_token"]


def test_code_exchange_writes_one_grant_and_refresh_adds_tokens_to_it(rp, rp_client, app):
    first = rp.full_login(rp_client, scope=OFFLINE).get_json()
    grants, tokens = _rows(app, rp_client.client_id)
    assert len(grants) == 1 and grants[0].code_id is not None and grants[0].account_id is not None
    assert grants[0].scope == OFFLINE and grants[0].amr == "pwd" and grants[0].sid
    assert [(t.kind, t.token_hash) for t in tokens] == [("access", _digest(first["access_token"])),
                                                        ("refresh", _digest(first["refresh_token"]))]
    refreshed = rp.token(rp_client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200
    grants_after, tokens_after = _rows(app, rp_client.client_id)
    assert [g.id for g in grants_after] == [grants[0].id]
    assert len(tokens_after) == 4 and {t.grant_id for t in tokens_after} == {grants[0].id}
    assert tokens_after[1].used_at is not None and tokens_after[3].used_at is None


def test_a_refreshed_id_token_names_the_user_and_group_as_the_first_did(rp, rp_client, app):
    first = rp.full_login(rp_client, scope=OFFLINE).get_json()
    again = rp.token(rp_client, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}).get_json()
    before = rp.verify(first["id_token"], rp_client.client_id).claims
    after = rp.verify(again["id_token"], rp_client.client_id).claims
    for name in ("sub", "groups", "tenant", "name", "amr", "auth_time", "sid"):
        assert after[name] == before[name], name
    assert after["groups"] == ["ACME株式会社"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(OidcToken)
                                 .where(OidcToken.token_hash == again["refresh_token"])) == 0
