"""Signing keys: one RSA-2048 and one P-256 key per tenant at creation, encrypted at rest,
published in JWKS, rotated with pre-publication, retired keys published until their tokens expire."""
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp import create_app, keys
from idp.console.security import rotate_keys
from idp.logs.audit import OPERATOR
from idp.models import AuditEvent
from idp.models.keys import SigningKey
from idp.platform import encryption
from idp.platform.extensions import db
from idp.tenancy import tenants

DAY = timedelta(days=1)


@pytest.fixture
def config_overrides():
    return {"IDP_KEY_PREPUBLISH_SECONDS": 3600, "IDP_KEY_RETENTION_SECONDS": 7200}


@pytest.fixture
def tenant_id(factory):
    return factory.tenant()


def _tenant(app):
    return tenants.get_by_slug("acme")


def _sign(app, clock, alg="RS256"):
    with app.app_context():
        key = keys.signing_key(_tenant(app), alg, clock.now())
        token = jwt.encode({"alg": alg, "kid": key.kid}, {"sub": "x"}, key.jwk)
        return key.kid, token


def _verifies(app, clock, token):
    with app.app_context():
        key_set = KeySet.import_key_set(keys.jwks(_tenant(app).id, clock.now()))
    try:
        jwt.decode(token, key_set, algorithms=["RS256", "ES256"])
    except JoseError:
        return False
    return True


def test_a_new_tenant_has_an_rsa_2048_and_a_p256_key(app, clock, tenant_id):
    with app.app_context():
        rsa_key = keys.signing_key(_tenant(app), "RS256", clock.now())
        ec_key = keys.signing_key(_tenant(app), "ES256", clock.now())
        assert isinstance(rsa_key.private_key, rsa.RSAPrivateKey) and rsa_key.private_key.key_size == 2048
        assert isinstance(ec_key.private_key, ec.EllipticCurvePrivateKey)
        assert ec_key.private_key.curve.name == "secp256r1"
        assert "BEGIN CERTIFICATE" in rsa_key.certificate
        published = keys.jwks(tenant_id, clock.now())["keys"]
    assert sorted((k["kty"], k["alg"], k["use"]) for k in published) == [("EC", "ES256", "sig"),
                                                                         ("RSA", "RS256", "sig")]
    assert {k["kid"] for k in published} == {rsa_key.kid, ec_key.kid}
    assert all("d" not in k for k in published)  # public halves only


def test_private_keys_are_encrypted_at_rest(app, tenant_id):
    with app.app_context():
        rows = db.session.scalars(select(SigningKey).where(SigningKey.tenant_id == tenant_id)).all()
        assert len(rows) == 2
        for row in rows:
            assert "PRIVATE KEY" not in row.private_key
            assert b"BEGIN PRIVATE KEY" in encryption.decrypt(row.private_key)


def test_a_different_key_encryption_key_cannot_read_the_keys(app, tenant_id, database_url, tmp_path):
    other = create_app({"IDP_INSTANCE_DIR": str(tmp_path / "instance"), "IDP_DATABASE_URL": database_url,
                        "IDP_SECRET_KEY": "x", "IDP_KEY_ENCRYPTION_KEY": "another-kek"})
    with other.app_context():
        row = db.session.scalars(select(SigningKey)).first()
        with pytest.raises(encryption.DecryptionError):
            encryption.decrypt(row.private_key)


def test_tokens_of_both_algorithms_verify_against_the_published_jwks(app, clock, tenant_id):
    for alg in ("RS256", "ES256"):
        _kid, token = _sign(app, clock, alg)
        assert _verifies(app, clock, token)


def test_rotation_prepublishes_then_switches_then_retires(app, clock, tenant_id):
    old_kid, old_token = _sign(app, clock)
    with app.app_context():
        new_rows = rotate_keys(_tenant(app), now=clock.now(), actor=OPERATOR)  # the admin action: audited
        new_kids = {r.alg: r.kid for r in new_rows}
        db.session.commit()
        assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "keys.rotate"))
        published = {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]}
    assert new_kids["RS256"] in published and old_kid in published  # pre-published
    assert _sign(app, clock)[0] == old_kid  # ...but not signing yet

    clock.advance(seconds=3600)
    kid, new_token = _sign(app, clock)
    assert kid == new_kids["RS256"]
    assert _verifies(app, clock, old_token) and _verifies(app, clock, new_token)

    clock.advance(seconds=7200)  # retention over: the old key leaves the JWKS
    with app.app_context():
        published = {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]}
        states = {s["kid"]: s["state"] for s in keys.key_states(tenant_id, clock.now())}
    assert old_kid not in published and states[old_kid] == "expired"
    assert not _verifies(app, clock, old_token) and _verifies(app, clock, new_token)


def test_a_second_rotation_while_one_is_pending_is_refused(app, clock, tenant_id):
    with app.app_context():
        keys.rotate(_tenant(app), clock.now())
        with pytest.raises(Exception, match="already pending"):
            keys.rotate(_tenant(app), clock.now())


def test_saml_metadata_certificates_follow_the_rotation(app, clock, tenant_id):
    with app.app_context():
        [(cert, signing)] = keys.saml_certificates(tenant_id, clock.now())
        assert signing
        keys.rotate(_tenant(app), clock.now(), prepublish=0)
        db.session.commit()
        certs = keys.saml_certificates(tenant_id, clock.now())
    assert len(certs) == 2 and [c for c, s in certs if s] != [cert] and (cert, False) in certs


def test_cli_rotate_and_list(app, clock, tenant_id):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["keys", "rotate", "--tenant", "acme", "--prepublish-seconds", "60", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(k["alg"] for k in data["keys"]) == ["ES256", "RS256"]
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "keys.rotate"))
        assert event is not None and event.actor_type == "operator"
    listed = json.loads(runner.invoke(args=["keys", "list", "--tenant", "acme", "--json"]).stdout)
    assert sorted(k["state"] for k in listed["keys"]) == ["pending", "pending", "signing", "signing"]
    again = runner.invoke(args=["keys", "rotate", "--tenant", "acme", "--json"])
    assert again.exit_code == 1 and again.stdout == "" and "already pending" in again.stderr
    unknown = runner.invoke(args=["keys", "rotate", "--tenant", "nope", "--json"])
    assert unknown.exit_code == 1 and unknown.stdout == ""


def test_loaded_keys_are_cached_per_process(app, clock, tenant_id):
    with app.app_context():
        first = keys.signing_key(_tenant(app), "RS256", clock.now())
        second = keys.signing_key(_tenant(app), "RS256", clock.now())
    assert first is second


def test_a_rolled_back_rotation_leaves_no_key_behind(app, tenant_id, clock):
    """The per-process copy of the keys (idp.platform.config_cache) follows the transaction: keys seen inside a
    rotation that is rolled back are neither published nor used afterwards."""
    with app.app_context():
        before = {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]}
        rows = keys.rotate(_tenant(app), clock.now(), prepublish=0)
        inside = {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]}
        assert {r.kid for r in rows} <= inside  # visible inside the transaction
        assert keys.signing_key(_tenant(app), "RS256", clock.now()).kid in {r.kid for r in rows}
        db.session.rollback()
    with app.app_context():
        assert {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]} == before
        assert keys.signing_key(_tenant(app), "RS256", clock.now()).kid in before


def test_keys_rotated_by_another_process_are_seen_at_once(app, tenant_id, clock):
    """A second app on the same database stands for another worker or the CLI."""
    with app.app_context():
        before = {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]}  # fills this process's copy
    other = create_app({k: app.config[k] for k in ("IDP_INSTANCE_DIR", "IDP_DATABASE_URL", "IDP_SECRET_KEY",
                                                   "IDP_BASE_URL", "TESTING")} | {"IDP_CLOCK": clock})
    with other.app_context():
        new = {r.kid for r in keys.rotate(tenants.get_by_slug("acme"), clock.now(), prepublish=60)}
        db.session.commit()
    with app.app_context():
        published = {k["kid"] for k in keys.jwks(tenant_id, clock.now())["keys"]}
        assert published == before | new
        assert keys.signing_key(_tenant(app), "RS256", clock.now()).kid in before  # pre-publication
    clock.advance(seconds=61)
    with app.app_context():
        assert keys.signing_key(_tenant(app), "RS256", clock.now()).kid in new
    with other.app_context():
        db.session.remove()
        db.engine.dispose()
