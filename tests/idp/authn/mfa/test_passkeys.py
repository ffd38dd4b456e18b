"""Passkey ceremonies (idp.authn.mfa.passkeys) against real responses of Chromium's virtual authenticator.

The fixtures (fixtures/es256.json, fixtures/rs256.json) were recorded by tests/support/record_webauthn.py at
the origin http://localhost:8000 with the RP ID `localhost`, fixed challenges and a fixed account subject
(the user handle is its bytes); the app here has the same base URL. Each ceremony starts as the options
endpoints start it (the service's `registration_options` / `authentication_options` store a challenge for
the purpose, tenant and account); the stored row then gets the recorded challenge's digest instead.
"""
import base64
import json
from pathlib import Path

import pytest
from sqlalchemy import select

from idp.authn import lockout, second_factor
from idp.authn.mfa import passkeys
from idp.logs.audit import OPERATOR, Actor, ClientInfo
from idp.models import Account, AuditEvent, LoginEvent
from idp.models.passkey import Passkey, WebauthnChallenge
from idp.platform.errors import NotFound
from idp.platform.extensions import db

FIXTURES = Path(__file__).parent / "fixtures"
ES256 = json.loads((FIXTURES / "es256.json").read_text(encoding="utf-8"))
RS256 = json.loads((FIXTURES / "rs256.json").read_text(encoding="utf-8"))
OFFICE = ClientInfo("203.0.113.7", "Mozilla/5.0")
TARO, HANAKO = "taro@acme.example.com", "hanako@acme.example.com"


def raw(value):
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


@pytest.fixture
def config_overrides():
    return {"IDP_BASE_URL": ES256["origin"]}  # RP ID localhost: what the fixtures were recorded for


@pytest.fixture
def people(app, factory):
    """taro's user handle is the ES256 fixture's, hanako's the RS256 one's; jiro is in another tenant."""
    factory.tenant()
    factory.tenant("other")
    factory.account()
    factory.account(email=HANAKO, name="佐藤 花子")
    factory.account("other", email="jiro@other.example.com", name="鈴木 次郎")
    with app.app_context():
        _account(TARO).subject = ES256["subject"]
        _account(HANAKO).subject = RS256["subject"]
        db.session.commit()


def _account(email):
    return db.session.scalar(select(Account).where(Account.email == email))


def _issue(purpose, recorded, clock, account=None, tenant=None):
    """What the options endpoint does (the service stores the challenge it made, for this purpose, tenant
    and account), then that row made to hold the recorded challenge's digest instead."""
    if purpose == "register":
        options = passkeys.registration_options(account, clock.now())
    else:
        options = passkeys.authentication_options(purpose=purpose, now=clock.now(), tenant=tenant, account=account)
    row = db.session.scalar(select(WebauthnChallenge).where(
        WebauthnChallenge.challenge_hash == passkeys.challenge_digest(raw(options["challenge"]))))
    row.challenge_hash = passkeys.challenge_digest(raw(recorded["challenge"]))
    db.session.flush()


def _register(fixture, account, clock, name="iPhone", recorded=None):
    recorded = recorded or fixture["registration"]
    _issue("register", recorded, clock, account=account)
    return passkeys.register(account, recorded["credential"], name, now=clock.now(), client=OFFICE)


def _login(recorded, clock, purpose="login", account=None, tenant=None, issue=True):
    if issue:
        _issue(purpose, recorded, clock, account=account, tenant=tenant)
    return passkeys.authenticate(recorded["credential"], purpose=purpose, now=clock.now(), client=OFFICE,
                                 tenant=tenant, account=account)


def _refused(code, call, *args, **kwargs):
    with pytest.raises(passkeys.PasskeyError) as refused:
        call(*args, **kwargs)
    assert refused.value.code == code, (refused.value.code, refused.value.message)
    assert refused.value.message and refused.value.status_code == 400
    return refused.value


def _stored(fixture):
    return db.session.scalar(select(Passkey).where(Passkey.credential_id == raw(fixture["credential_id"])))


def _actions(name):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == name)).all()


@pytest.mark.parametrize("fixture", [ES256, RS256], ids=["es256", "rs256"])
def test_register_then_sign_in_and_confirm_with_the_recorded_passkey(app, people, clock, fixture):
    with app.app_context():
        email = TARO if fixture is ES256 else HANAKO
        owner = _account(email)
        passkey = _register(fixture, owner, clock, name="会社のPC")
        db.session.commit()
        stored = _stored(fixture)
        assert stored.id == passkey.id and stored.account_id == owner.id and stored.tenant_id == owner.tenant_id
        assert stored.name == "会社のPC" and stored.sign_count == fixture["registration_sign_count"]
        assert stored.transports.split() == ["internal"] and stored.backed_up is False
        assert stored.aaguid == "01020304-0506-0708-0102-030405060708"  # Chromium's virtual authenticator
        assert stored.last_used_at is None and stored.created_at == clock.now()
        registered = _actions("passkey.registered")
        assert [e.target_id for e in registered] == [owner.id] and "会社のPC" in registered[0].changes.values()
        assert [p.id for p in passkeys.passkeys_of(owner)] == [passkey.id]

        clock.advance(minutes=3)
        account, used = _login(fixture["logins"][0], clock)  # discoverable: no account given
        assert (account.id, used.id) == (owner.id, passkey.id)
        assert used.sign_count == fixture["logins"][0]["sign_count"] and used.last_used_at == clock.now()
        clock.advance(minutes=3)
        account, used = _login(fixture["logins"][1], clock, purpose="second_factor", account=owner)
        assert account.id == owner.id and used.sign_count == fixture["logins"][1]["sign_count"]
        db.session.commit()
        assert _stored(fixture).last_used_at == clock.now()


def test_the_challenge_is_stored_as_a_digest_and_expires(app, people, clock):
    with app.app_context():
        taro = _account(TARO)
        _issue("register", ES256["registration"], clock, account=taro)
        hashes = db.session.scalars(select(WebauthnChallenge.challenge_hash)).all()
        assert len(hashes) == 1 and len(hashes[0]) == 64
        challenge = ES256["registration"]["challenge"]
        assert challenge not in hashes[0] and raw(challenge).hex() != hashes[0]
        clock.advance(minutes=5, seconds=1)
        _refused("challenge", passkeys.register, taro, ES256["registration"]["credential"], "iPhone",
                 now=clock.now(), client=OFFICE)
        assert _stored(ES256) is None


def test_a_response_made_on_another_origin_is_refused(app, people, clock):
    with app.app_context():
        taro = _account(TARO)
        _refused("origin", _register, ES256, taro, clock, recorded=ES256["bad_origin_registration"])
        assert passkeys.passkeys_of(taro) == []
        _register(ES256, taro, clock)
        db.session.commit()
        _refused("origin", _login, ES256["bad_origin_login"], clock)
        db.session.commit()
        assert _stored(ES256).sign_count == ES256["registration_sign_count"]  # nothing counted
        assert _account(TARO).failed_login_count == 1  # a failed assertion of a known account counts


def test_a_response_for_another_rp_id_is_refused(app, people, clock):
    with app.app_context():
        taro = _account(TARO)
        app.config["WEBAUTHN_RP_ID"] = "login.example.com"  # the origin stays http://localhost:8000
        _refused("rp_id", _register, ES256, taro, clock)
        assert passkeys.passkeys_of(taro) == []
        app.config.pop("WEBAUTHN_RP_ID")
        _register(ES256, taro, clock)
        db.session.commit()
        app.config["WEBAUTHN_RP_ID"] = "login.example.com"
        _refused("rp_id", _login, ES256["logins"][0], clock)
        app.config.pop("WEBAUTHN_RP_ID")
        db.session.commit()
        assert _stored(ES256).last_used_at is None


def test_a_replayed_challenge_fails_the_second_time(app, people, clock):
    with app.app_context():
        taro = _account(TARO)
        _register(ES256, taro, clock)
        db.session.commit()
        _refused("challenge", passkeys.register, taro, ES256["registration"]["credential"], "iPhone 2",
                 now=clock.now(), client=OFFICE)
        _login(ES256["logins"][0], clock)
        db.session.commit()
        _refused("challenge", _login, ES256["logins"][0], clock, issue=False)
        assert len(passkeys.passkeys_of(taro)) == 1


def test_a_challenge_serves_only_its_purpose(app, people, clock):
    with app.app_context():
        taro = _account(TARO)
        _register(ES256, taro, clock)
        db.session.commit()
        _issue("reauth", ES256["logins"][0], clock, account=taro)
        _refused("challenge", _login, ES256["logins"][0], clock, issue=False)  # a login with it


def test_the_same_passkey_cannot_be_registered_twice(app, people, clock):
    with app.app_context():
        taro = _account(TARO)
        _register(ES256, taro, clock)
        db.session.commit()
        _refused("duplicate", _register, ES256, taro, clock, name="もう一度")
        assert [p.name for p in passkeys.passkeys_of(taro)] == ["iPhone"]


@pytest.mark.parametrize("stored_count", ["higher", "equal"])
def test_a_counter_that_does_not_rise_is_refused_as_a_possible_clone(app, people, clock, stored_count):
    with app.app_context():
        _register(ES256, _account(TARO), clock)
        db.session.commit()
        early, late = ES256["logins"]
        if stored_count == "higher":
            _login(late, clock)  # the stored counter is now the later one's
        else:
            _stored(ES256).sign_count = early["sign_count"]
        db.session.commit()
        before = _stored(ES256).sign_count
        clock.advance(minutes=1)
        _refused("counter", _login, early, clock)
        db.session.commit()
        assert _stored(ES256).sign_count == before
        clones = _actions("passkey.clone_suspected")
        assert len(clones) == 1 and clones[0].tenant_id == _account(TARO).tenant_id
        assert clones[0].created_at == clock.now()  # when the clone showed up
        failures = db.session.scalars(select(LoginEvent).where(LoginEvent.result == "failure")).all()
        assert [(e.account_id, e.protocol, e.reason) for e in failures] == [
            (_account(TARO).id, "passkey", "clone_suspected")]


def test_an_unknown_credential_is_refused_without_counting_against_anyone(app, people, clock):
    with app.app_context():
        _refused("unknown_credential", _login, ES256["logins"][0], clock)
        db.session.commit()
        assert {a.failed_login_count or 0 for a in db.session.scalars(select(Account))} == {0}


def test_a_locked_account_does_not_sign_in_with_its_passkey(app, people, clock):
    with app.app_context():
        _register(ES256, _account(TARO), clock)
        for _ in range(lockout.MAX_FAILURES):
            lockout.register_failure(_account(TARO), clock.now())
        db.session.commit()
        _refused("locked", _login, ES256["logins"][0], clock)
        db.session.commit()
        assert _stored(ES256).last_used_at is None
        clock.advance(minutes=31)  # the lock runs out
        account, _ = _login(ES256["logins"][1], clock)
        assert account.email == TARO


def test_the_user_handle_must_name_the_passkeys_account(app, people, clock):
    with app.app_context():
        _register(ES256, _account(TARO), clock)
        _account(TARO).subject = "renamedSubjectxxxxxxxxxxxxxxxxxx"
        db.session.commit()
        with pytest.raises(passkeys.PasskeyError):
            _login(ES256["logins"][0], clock)


def test_a_tenant_login_page_accepts_only_its_own_accounts(app, people, clock):
    from idp.tenancy import tenants
    with app.app_context():
        _register(ES256, _account(TARO), clock)
        db.session.commit()
        with pytest.raises(passkeys.PasskeyError):
            _login(ES256["logins"][0], clock, tenant=tenants.get_by_slug("other"))
        db.session.rollback()
        account, _ = _login(ES256["logins"][1], clock, tenant=tenants.get_by_slug("acme"))
        assert account.email == TARO


def test_another_accounts_passkey_does_not_pass_the_second_factor(app, people, clock):
    with app.app_context():
        taro, hanako = _account(TARO), _account(HANAKO)
        _register(ES256, taro, clock)
        _register(RS256, hanako, clock)
        db.session.commit()
        with pytest.raises(passkeys.PasskeyError):  # hanako's half-done login, taro's passkey
            _login(ES256["logins"][0], clock, purpose="second_factor", account=hanako)
        db.session.commit()
        assert _stored(ES256).sign_count == ES256["registration_sign_count"] and _stored(ES256).last_used_at is None
        account, _ = _login(RS256["logins"][0], clock, purpose="second_factor", account=_account(HANAKO))
        assert account.email == HANAKO


def test_delete_one_passkey_then_the_admin_reset_removes_the_rest(app, people, clock):
    with app.app_context():
        taro, hanako = _account(TARO), _account(HANAKO)
        taros = _register(ES256, taro, clock).id
        hanakos = _register(RS256, hanako, clock).id
        db.session.commit()
        with pytest.raises(NotFound):  # hanako cannot delete taro's passkey by its id
            passkeys.delete_passkey(hanako, taros, now=clock.now(), actor=Actor.of_account(hanako), client=OFFICE)
        db.session.rollback()
        assert _stored(ES256) is not None
        passkeys.delete_passkey(taro, taros, now=clock.now(), actor=Actor.of_account(taro), client=OFFICE)
        db.session.commit()
        assert _stored(ES256) is None
        deleted = _actions("passkey.deleted")
        assert [e.target_id for e in deleted] == [taro.id] and "iPhone" in deleted[0].changes.values()
        _refused("unknown_credential", _login, ES256["logins"][0], clock)
        db.session.rollback()

        second_factor.reset_mfa(_account(HANAKO), now=clock.now(), actor=OPERATOR)
        db.session.commit()
        assert _stored(RS256) is None and passkeys.passkeys_of(_account(HANAKO)) == []
        assert hanakos not in {p.id for p in db.session.scalars(select(Passkey))}
        _refused("unknown_credential", _login, RS256["logins"][0], clock)
