"""Passkeys on the server side, without an authenticator: the options the browser gets, bad input refused
before anything counts, the policy `passkey` steps, the amr/acr mapping, the admin reset and `idp mfa`.
(The ceremonies with recorded authenticator responses are in test_passkeys.py.)"""
import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.authn import second_factor
from idp.authn.identity import ACR_MFA, Identity
from idp.authn.mfa import passkeys
from idp.logs.audit import OPERATOR, ClientInfo
from idp.models import Account, AuditEvent, LoginEvent, MfaPendingLogin
from idp.models.passkey import Passkey, WebauthnChallenge
from idp.platform.extensions import db
from idp.tenancy import tenants
from tests.support.cli_runner import cli, ok_json  # noqa: F401  (the `cli` fixture)
from tests.support.mfa import set_mode

OFFICE = ClientInfo("203.0.113.7", "Mozilla/5.0")
TARO = "taro@acme.example.com"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture
def taro_id(factory):
    factory.tenant()
    return factory.account()[0]


def add_passkey(account, clock, credential_id=b"credential-1", name="iPhone", backed_up=False):
    passkey = Passkey(tenant_id=account.tenant_id, account_id=account.id, credential_id=credential_id,
                      public_key=b"not-a-key", sign_count=0, transports="internal", aaguid="", backed_up=backed_up,
                      name=name, created_at=clock.now())
    db.session.add(passkey)
    db.session.commit()
    return passkey


def challenges():
    return db.session.scalars(select(WebauthnChallenge)).all()


def test_registration_options_ask_for_a_discoverable_verified_es256_or_rs256_passkey(app, clock, taro_id):
    with app.app_context():
        taro = db.session.get(Account, taro_id)
        existing = add_passkey(taro, clock)
        options = passkeys.registration_options(taro, clock.now())
        db.session.commit()
        assert options["rp"]["id"] == "127.0.0.1"  # the host of the test app's IDP_BASE_URL
        assert options["user"] == {"id": b64url(taro.subject.encode()), "name": TARO, "displayName": "山田 太郎"}
        assert [p["alg"] for p in options["pubKeyCredParams"]] == [-7, -257]
        assert options["attestation"] == "none"
        assert options["authenticatorSelection"]["residentKey"] == "required"
        assert options["authenticatorSelection"]["userVerification"] == "required"
        assert [c["id"] for c in options["excludeCredentials"]] == [b64url(existing.credential_id)]
        [row] = challenges()
        assert (row.purpose, row.account_id, row.tenant_id) == ("register", taro.id, taro.tenant_id)
        assert row.expires_at == clock.now() + timedelta(minutes=5)
        assert options["challenge"] not in row.challenge_hash and len(row.challenge_hash) == 64


def test_authentication_options_list_credentials_only_for_a_known_account(app, clock, taro_id):
    with app.app_context():
        taro = db.session.get(Account, taro_id)
        add_passkey(taro, clock)
        acme = tenants.get_by_slug("acme")
        login = passkeys.authentication_options(purpose="login", now=clock.now(), tenant=acme)
        second = passkeys.authentication_options(purpose="second_factor", now=clock.now(), account=taro)
        db.session.commit()
        assert login["allowCredentials"] == [] and login["userVerification"] == "required"
        assert [c["id"] for c in second["allowCredentials"]] == [b64url(b"credential-1")]
        assert login["challenge"] != second["challenge"]
        assert sorted((r.purpose, r.tenant_id, r.account_id) for r in challenges()) == [
            ("login", acme.id, None), ("second_factor", acme.id, taro.id)]
        with pytest.raises(ValueError):
            passkeys.authentication_options(purpose="reauth", now=clock.now())  # a re-authentication needs its account


def test_rp_id_and_origin_come_from_the_configuration(app):
    with app.test_request_context():
        assert (passkeys.rp_id(), passkeys.expected_origin()) == ("127.0.0.1", "http://127.0.0.1:8000")
        app.config.update(WEBAUTHN_RP_ID="example.com", WEBAUTHN_ORIGIN="https://login.example.com/")
        assert (passkeys.rp_id(), passkeys.expected_origin()) == ("example.com", "https://login.example.com")


def _client_data(challenge, origin="http://127.0.0.1:8000", kind="webauthn.get"):
    data = json.dumps({"type": kind, "challenge": b64url(challenge), "origin": origin}).encode()
    return b64url(data)


@pytest.mark.parametrize("credential", [
    "not json", [], {}, {"response": "x"}, {"response": {}}, {"response": {"clientDataJSON": "%%%"}},
    {"response": {"clientDataJSON": b64url(b"[1, 2]")}},
], ids=["text", "list", "empty", "response-text", "no-client-data", "bad-base64", "client-data-not-object"])
def test_unreadable_responses_are_refused_without_counting(app, clock, taro_id, credential):
    with app.app_context():
        with pytest.raises(passkeys.PasskeyError) as refused:
            passkeys.authenticate(credential, purpose="login", now=clock.now(), client=OFFICE)
        assert refused.value.code == "verification" and refused.value.status_code == 400
        assert db.session.get(Account, taro_id).failed_login_count in (0, None)


def test_an_unknown_or_expired_challenge_is_refused_and_a_spent_one_is_gone(app, clock, taro_id):
    with app.app_context():
        taro = db.session.get(Account, taro_id)
        add_passkey(taro, clock)
        unknown = {"id": b64url(b"credential-1"), "rawId": b64url(b"credential-1"), "type": "public-key",
                   "response": {"clientDataJSON": _client_data(b"never issued")}}
        with pytest.raises(passkeys.PasskeyError) as refused:
            passkeys.authenticate(unknown, purpose="login", now=clock.now(), client=OFFICE)
        assert refused.value.code == "challenge"
        options = passkeys.authentication_options(purpose="login", now=clock.now())
        db.session.commit()
        challenge = base64.urlsafe_b64decode(options["challenge"] + "==")
        late = {**unknown, "response": {"clientDataJSON": _client_data(challenge),
                                        "userHandle": b64url(taro.subject.encode())}}
        with pytest.raises(passkeys.PasskeyError) as refused:
            passkeys.authenticate(late, purpose="login", now=clock.now() + timedelta(minutes=5, seconds=1),
                                  client=OFFICE)
        assert refused.value.code == "challenge"
        # in time, the challenge is spent (then the assertion fails: it carries no signature)
        with pytest.raises(passkeys.PasskeyError) as refused:
            passkeys.authenticate(late, purpose="login", now=clock.now(), client=OFFICE)
        assert refused.value.code == "verification" and challenges() == []
        db.session.commit()
        assert db.session.get(Account, taro_id).failed_login_count == 1  # a known account's failed assertion
        events = db.session.scalars(select(LoginEvent).where(LoginEvent.protocol == "passkey")).all()
        assert [(e.result, e.account_id) for e in events] == [("failure", taro_id)]


@pytest.mark.parametrize("name", ["", "   ", "x" * 61])
def test_a_passkey_needs_a_name_of_at_most_60_characters(app, clock, taro_id, name):
    with app.app_context():
        taro = db.session.get(Account, taro_id)
        passkeys.registration_options(taro, clock.now())
        with pytest.raises(passkeys.PasskeyError) as refused:
            passkeys.register(taro, {"response": {}}, name, now=clock.now(), client=OFFICE)
        assert refused.value.code == "name" and "60" in str(refused.value.message)
        assert len(challenges()) == 1  # the challenge is not spent by a form error
        assert passkeys.valid_name("  会社の  PC ") == "会社の PC"


def test_a_passkey_login_counts_as_multi_factor(app, clock, taro_id):
    with app.app_context():
        taro = db.session.get(Account, taro_id)
        bound, synced = add_passkey(taro, clock), add_passkey(taro, clock, b"credential-2", "Pixel", backed_up=True)
        assert passkeys.amr_of(bound) == ("hwk", "user", "mfa")
        assert passkeys.amr_of(synced, after_password=True) == ("pwd", "swk", "user", "mfa")
    for amr in (("hwk", "user"), ("pwd", "swk", "user")):
        identity = Identity(account_id=1, tenant_id=1, tenant_slug="acme", subject="s", email=TARO, name="", phone="",
                            mobile="", organization="", department="", groups=(), amr=amr, auth_time=clock.now(),
                            session_id="sid")
        assert identity.mfa and identity.acr == ACR_MFA


def _pending(taro_id, clock):
    taro = db.session.get(Account, taro_id)
    second_factor.begin(taro, clock.now())
    db.session.commit()
    return db.session.scalar(select(MfaPendingLogin).order_by(MfaPendingLogin.id.desc()))


def test_policy_passkey_enrols_one_then_asks_for_it(app, clock, taro_id):
    set_mode(app, clock, "passkey")
    with app.app_context():
        pending = _pending(taro_id, clock)
        assert second_factor.step(pending) == second_factor.PASSKEY_ENROL
        assert second_factor.describe(pending)["method"] == "passkey"
        options = second_factor.passkey_options(pending, clock.now())
        assert options["user"]["name"] == TARO  # registration options for this account
        with pytest.raises(second_factor.WrongStep):
            second_factor.verify(pending, "123456", now=clock.now(), client=OFFICE)  # no code at this step
        add_passkey(db.session.get(Account, taro_id), clock)
        assert second_factor.step(pending) == second_factor.PASSKEY_CHECK
        assert len(second_factor.passkey_options(pending, clock.now())["allowCredentials"]) == 1
        with pytest.raises(second_factor.WrongStep):
            second_factor.enrol_passkey(pending, {}, "x", now=clock.now(), client=OFFICE)


def test_mode_any_accepts_the_passkey_instead_of_choosing(app, clock, taro_id):
    set_mode(app, clock, "any")
    with app.app_context():
        pending = _pending(taro_id, clock)
        assert second_factor.step(pending) == second_factor.CHOOSE
        add_passkey(db.session.get(Account, taro_id), clock)
        assert second_factor.step(pending) == second_factor.PASSKEY_CHECK


def test_mfa_reset_removes_the_passkeys(app, clock, taro_id):
    with app.app_context():
        taro = db.session.get(Account, taro_id)
        add_passkey(taro, clock)
        add_passkey(taro, clock, b"credential-2", "Pixel")
        second_factor.reset_mfa(taro, now=clock.now(), actor=OPERATOR)
        db.session.commit()
        assert db.session.scalars(select(Passkey)).all() == []
        reset = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.reset"))
        assert reset.changes == {"method": [None, None], "count": [2, 0]}


def test_cli_sets_the_passkey_policy_and_reset_removes_passkeys(app, cli, clock, taro_id):  # noqa: F811
    assert ok_json(cli("mfa", "set", "--tenant", "acme", "passkey", "--json")) == {
        "tenant": "acme", "group": None, "mode": "passkey"}
    assert ok_json(cli("mfa", "show", "--tenant", "acme", "--json"))["mode"] == "passkey"
    with app.app_context():
        add_passkey(db.session.get(Account, taro_id), clock)
    assert ok_json(cli("mfa", "reset", "--tenant", "acme", TARO, "--json"))["reset"] is True
    with app.app_context():
        assert db.session.scalars(select(Passkey)).all() == []
