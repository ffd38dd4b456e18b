"""Passkeys (WebAuthn through py_webauthn): registration, sign-in, the second factor, re-authentication.

Flow: `*_options` makes a challenge, keeps its keyed digest (5 minutes, one purpose, tenant and account
where known) and returns the JSON the browser passes to navigator.credentials; the browser's answer
comes back to `register` or `authenticate`, which find the challenge again from the response's
clientDataJSON and spend it with one conditional DELETE (a replay finds nothing), then let the library
check origin, RP ID (the host of IDP_BASE_URL), user verification and the signature.
A sign counter that does not grow (unless both are 0) is refused and recorded as a possible clone
(WebAuthn L2 §6.1.1). A failed assertion of a known account counts in the lockout counter.
Errors are `PasskeyError`s with a short `code` and a message safe to show; details go to the log.
py_webauthn is imported by the functions that use it: a worker that never sees a passkey does without its
~5 MB (docs/performance.md, Memory).
"""
import hashlib
import hmac
import json
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from idp.authn import credentials, lockout
from idp.directory.account_state import login_block_reason
from idp.logs.audit import Actor, record_audit, record_login
from idp.models import Account
from idp.models.passkey import Passkey, WebauthnChallenge
from idp.platform.errors import NotFound, ServiceError
from idp.platform.extensions import db

REGISTER, LOGIN, SECOND_FACTOR, REAUTH = "register", "login", "second_factor", "reauth"
METHOD = "passkey"  # the login events' protocol column
CHALLENGE_LIFETIME = timedelta(minutes=5)
ALGORITHMS = (-7, -257)  # COSE algorithm identifiers (IANA): ES256, RS256
NAME_LENGTH = 60
TRANSPORTS = {"usb", "nfc", "ble", "internal", "hybrid", "cable", "smart-card"}

CHALLENGE, ORIGIN, RP_ID, VERIFICATION = "challenge", "origin", "rp_id", "verification"
DUPLICATE, UNKNOWN_CREDENTIAL, COUNTER, NAME = "duplicate", "unknown_credential", "counter", "name"
LOCKED, UNAVAILABLE = "locked", "unavailable"
FAILED = _l("パスキーを確認できませんでした。もう一度お試しください。")
MESSAGES = {
    CHALLENGE: _l("パスキーの確認の有効期限が切れました。もう一度お試しください。"),
    ORIGIN: FAILED, RP_ID: FAILED, VERIFICATION: FAILED, COUNTER: FAILED,
    DUPLICATE: _l("このパスキーは登録済みです。"),
    UNKNOWN_CREDENTIAL: _l("このパスキーは登録されていません。"),
    NAME: _l("パスキーの名前を60文字以内で入力してください。"),
    LOCKED: _l("ログインに連続で失敗したため、このアカウントはロックされています。"
               "30分後に再度ログインをお試しいただくか、管理者にロック解除をご依頼ください。"),
    UNAVAILABLE: _l("このアカウントは現在ご利用いただけません。管理者にお問い合わせください。"),
}


class PasskeyError(ServiceError):
    """A refused ceremony: `code` (see MESSAGES) for the JSON answer, `message` to show, `detail` for the log."""

    def __init__(self, code, detail=None):
        super().__init__(MESSAGES[code], detail or code)
        self.code = code


def rp_id():
    """The RP ID: WEBAUTHN_RP_ID, else the host of IDP_BASE_URL."""
    return current_app.config.get("WEBAUTHN_RP_ID") or urlsplit(current_app.config["IDP_BASE_URL"]).hostname


def expected_origin():
    """The origin responses must come from: WEBAUTHN_ORIGIN, else scheme://host[:port] of IDP_BASE_URL."""
    configured = current_app.config.get("WEBAUTHN_ORIGIN")
    if configured:
        return configured.rstrip("/")
    parts = urlsplit(current_app.config["IDP_BASE_URL"])
    return f"{parts.scheme}://{parts.netloc}"


def user_handle(account):
    """The stable opaque user.id of the account's credentials: its subject (never the email or row id)."""
    return account.subject.encode("utf-8")


def challenge_digest(challenge):
    key = hmac.new(current_app.config["SECRET_KEY"].encode("utf-8"), b"idp.authn.mfa.passkeys", hashlib.sha256)
    return hmac.new(key.digest(), bytes(challenge), hashlib.sha256).hexdigest()


def remember_challenge(challenge, *, purpose, now, tenant_id=None, account_id=None):
    """Keep the digest of a challenge given to a browser (expired ones are deleted first)."""
    db.session.execute(delete(WebauthnChallenge).where(WebauthnChallenge.expires_at <= now))
    db.session.add(WebauthnChallenge(challenge_hash=challenge_digest(challenge), purpose=purpose,
                                     tenant_id=tenant_id, account_id=account_id,
                                     expires_at=now + CHALLENGE_LIFETIME))


def _spend_challenge(challenge, *, purpose, now, tenant_id, account_id):
    """True once for a live challenge of this purpose, tenant and account: one conditional DELETE."""
    table = WebauthnChallenge
    query = delete(table).where(table.challenge_hash == challenge_digest(challenge), table.purpose == purpose,
                                table.expires_at > now)
    query = query.where(table.tenant_id == tenant_id if tenant_id is not None else table.tenant_id.is_(None))
    query = query.where(table.account_id == account_id if account_id is not None else table.account_id.is_(None))
    return db.session.execute(query.execution_options(synchronize_session=False)).rowcount == 1


def _algorithms():
    from webauthn.helpers.cose import COSEAlgorithmIdentifier
    return [COSEAlgorithmIdentifier(value) for value in ALGORITHMS]


def _descriptors(account):
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor
    return [PublicKeyCredentialDescriptor(id=p.credential_id) for p in passkeys_of(account)]


def registration_options(account, now):
    """The options of navigator.credentials.create() (JSON-ready): discoverable, user verification
    required, no attestation, ES256 and RS256, the account's passkeys excluded."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (AttestationConveyancePreference, AuthenticatorSelectionCriteria,
                                          ResidentKeyRequirement, UserVerificationRequirement)
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=current_app.config["IDP_PRODUCT_NAME"], user_id=user_handle(account),
        user_name=account.email, user_display_name=account.name or account.email,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=_descriptors(account), supported_pub_key_algs=_algorithms())
    remember_challenge(options.challenge, purpose=REGISTER, now=now, tenant_id=account.tenant_id,
                       account_id=account.id)
    return json.loads(options_to_json(options))


def authentication_options(*, purpose, now, tenant=None, account=None):
    """The options of navigator.credentials.get(): no allowCredentials for a login (discoverable),
    the account's credentials for the second factor and re-authentication."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement
    if purpose not in (LOGIN, SECOND_FACTOR, REAUTH) or (purpose != LOGIN and account is None):
        raise ValueError(f"authentication options for {purpose!r} without an account")
    options = generate_authentication_options(
        rp_id=rp_id(), allow_credentials=_descriptors(account) if purpose != LOGIN else [],
        user_verification=UserVerificationRequirement.REQUIRED)
    tenant_id = account.tenant_id if account is not None else getattr(tenant, "id", None)
    remember_challenge(options.challenge, purpose=purpose, now=now, tenant_id=tenant_id,
                       account_id=account.id if account is not None else None)
    return json.loads(options_to_json(options))


def _as_dict(credential_json):
    if isinstance(credential_json, str):
        try:
            credential_json = json.loads(credential_json)
        except ValueError:
            raise PasskeyError(VERIFICATION, "credential is not JSON") from None
    if not isinstance(credential_json, dict) or not isinstance(credential_json.get("response"), dict):
        raise PasskeyError(VERIFICATION, "credential is not a WebAuthn response object")
    return credential_json


def _client_data(credential):
    """(challenge bytes, origin) of the response's clientDataJSON."""
    from webauthn import base64url_to_bytes
    from webauthn.helpers.exceptions import WebAuthnException
    from webauthn.helpers.parse_client_data_json import parse_client_data_json
    try:
        data = parse_client_data_json(base64url_to_bytes(credential["response"]["clientDataJSON"]))
    except (KeyError, TypeError, ValueError, WebAuthnException) as exc:
        raise PasskeyError(VERIFICATION, f"clientDataJSON unreadable: {type(exc).__name__}") from None
    return data.challenge, data.origin


def _library_error(exc):
    """The PasskeyError for a py_webauthn refusal (its message names the check that failed)."""
    text = str(exc)
    if "RP ID hash" in text:
        return PasskeyError(RP_ID, text)
    if "origin" in text:
        return PasskeyError(ORIGIN, text)
    return PasskeyError(VERIFICATION, f"{type(exc).__name__}: {text}"[:300])


def _begin(credential_json, *, purpose, now, tenant_id, account_id):
    """(the parsed response, its challenge, its origin), the challenge spent."""
    credential = _as_dict(credential_json)
    challenge, origin = _client_data(credential)
    if not _spend_challenge(challenge, purpose=purpose, now=now, tenant_id=tenant_id, account_id=account_id):
        raise PasskeyError(CHALLENGE, f"{purpose} challenge unknown, spent or expired")
    return credential, challenge, origin


def _check_origin(origin):
    if origin != expected_origin():
        raise PasskeyError(ORIGIN, f"origin {str(origin)[:100]!r}")


def valid_name(name):
    name = " ".join((name or "").split())
    if not name or len(name) > NAME_LENGTH:
        raise PasskeyError(NAME, "passkey name empty or too long")
    return name


def _transports(credential):
    found = credential["response"].get("transports") or []
    return " ".join(t for t in found if isinstance(t, str) and t in TRANSPORTS)[:100]


def register(account, credential_json, name, *, now, client):
    """Verify a new credential of `account` and keep it; audit event `passkey.registered`."""
    from webauthn import verify_registration_response
    from webauthn.helpers.exceptions import WebAuthnException
    name = valid_name(name)
    credential, challenge, origin = _begin(credential_json, purpose=REGISTER, now=now,
                                           tenant_id=account.tenant_id, account_id=account.id)
    _check_origin(origin)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=expected_origin(), require_user_verification=True, supported_pub_key_algs=_algorithms())
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise _library_error(exc) from None
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == verified.credential_id)) is not None:
        raise PasskeyError(DUPLICATE, "credential id already registered")
    passkey = Passkey(tenant_id=account.tenant_id, account_id=account.id, credential_id=verified.credential_id,
                      public_key=verified.credential_public_key, sign_count=verified.sign_count,
                      transports=_transports(credential), aaguid=str(verified.aaguid)[:36],
                      backed_up=bool(verified.credential_backed_up), name=name, created_at=now)
    db.session.add(passkey)
    db.session.flush()
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="passkey.registered",
                 target=account, now=now, changes={"name": name}, client=client)
    return passkey


def _find(credential, tenant, account):
    """The registered passkey of the response (in the tenant of the page, of `account` when given)."""
    from webauthn import base64url_to_bytes
    try:
        raw_id = base64url_to_bytes(credential.get("rawId") or credential.get("id") or "")
    except (TypeError, ValueError):
        raw_id = b""
    passkey = db.session.scalar(select(Passkey).where(Passkey.credential_id == raw_id)) if raw_id else None
    if passkey is None or (tenant is not None and passkey.tenant_id != tenant.id) or (
            account is not None and passkey.account_id != account.id):
        raise PasskeyError(UNKNOWN_CREDENTIAL, "credential id not registered here")
    return passkey


def _check_user_handle(credential, owner, purpose):
    """The userHandle (required for a discoverable login) names the passkey's account."""
    from webauthn import base64url_to_bytes
    handle = credential["response"].get("userHandle")
    try:
        handle_bytes = base64url_to_bytes(handle) if handle else None
    except (TypeError, ValueError):
        handle_bytes = b""
    if (handle_bytes is None and purpose == LOGIN) or (handle_bytes is not None
                                                       and handle_bytes != user_handle(owner)):
        raise PasskeyError(VERIFICATION, "userHandle does not name the credential's account")


def _check_owner(owner, purpose, now, client):
    """The passkey's account may sign in now (not locked; for a login, not blocked either)."""
    reason = LOCKED if lockout.is_locked(owner, now) else (
        login_block_reason(owner, now) if purpose == LOGIN else None)
    if reason:
        record_login(result="failure", reason=reason, account=owner, now=now, client=client, protocol=METHOD)
        raise PasskeyError(LOCKED if reason == LOCKED else UNAVAILABLE, f"account refused: {reason}")


def authenticate(credential_json, *, purpose, now, client, tenant=None, account=None):
    """Check an assertion; return (account, passkey). `tenant`: a tenant's login page (only its accounts);
    `account`: the second factor or a re-authentication of that account (only its passkeys)."""
    tenant_id = account.tenant_id if account is not None else getattr(tenant, "id", None)
    credential, challenge, origin = _begin(credential_json, purpose=purpose, now=now, tenant_id=tenant_id,
                                           account_id=account.id if account is not None else None)
    passkey = _find(credential, tenant, account)
    owner = account or db.session.get(Account, passkey.account_id)
    _check_owner(owner, purpose, now, client)
    try:
        _check_user_handle(credential, owner, purpose)
        _check_origin(origin)
        verified = _verify_assertion(credential, challenge, passkey, now, client)
    except PasskeyError as exc:
        locked = lockout.register_failure(owner, now)
        reason = "clone_suspected" if exc.code == COUNTER else (LOCKED if locked else "bad_passkey")
        record_login(result="failure", reason=reason, account=owner, now=now, client=client, protocol=METHOD)
        raise exc
    passkey.sign_count, passkey.last_used_at = verified.new_sign_count, now
    passkey.backed_up = bool(verified.credential_backed_up)
    return owner, passkey


def _verify_assertion(credential, challenge, passkey, now, client):
    """The library's checks (the stored counter is compared here, after the signature: only a valid
    signature may raise the clone alarm)."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.exceptions import WebAuthnException
    try:
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=expected_origin(), credential_public_key=passkey.public_key,
            credential_current_sign_count=0, require_user_verification=True)
    except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
        raise _library_error(exc) from None
    new, stored = verified.new_sign_count, passkey.sign_count
    if (new or stored) and new <= stored:
        account = db.session.get(Account, passkey.account_id)
        record_audit(tenant_id=passkey.tenant_id, actor=Actor.of_account(account), action="passkey.clone_suspected",
                     target=account, now=now, changes={"name": passkey.name}, client=client)
        raise PasskeyError(COUNTER, f"sign count {new} not above {stored}: possible clone")
    return verified


def amr_of(passkey, after_password=False):
    """`hwk` for a device-bound passkey, `swk` for a synced one; user verification makes it `mfa`."""
    kind = "swk" if passkey.backed_up else "hwk"
    return ("pwd", kind, "user", "mfa") if after_password else (kind, "user", "mfa")


def passkeys_of(account):
    return db.session.scalars(select(Passkey).where(Passkey.account_id == account.id,
                                                    Passkey.tenant_id == account.tenant_id)
                              .order_by(Passkey.created_at, Passkey.id)).all()


def has_passkey(account):
    return db.session.scalar(select(Passkey.id).where(Passkey.account_id == account.id,
                                                      Passkey.tenant_id == account.tenant_id).limit(1)) is not None


def confirm_password(account, password, *, now, client):
    """Re-authentication by password before a deletion: a wrong one counts in the lockout counter."""
    if lockout.is_locked(account, now):
        return False
    if credentials.opened_by([account], (password or "")[:1024]):
        return True
    lockout.register_failure(account, now)
    record_login(result="failure", reason=credentials.BAD_PASSWORD, account=account, now=now, client=client)
    return False


def delete_passkey(account, passkey_id, *, now, actor, client):
    """Delete one of the account's passkeys (NotFound for another's); audit event `passkey.deleted`."""
    passkey = db.session.scalar(select(Passkey).where(Passkey.id == passkey_id, Passkey.account_id == account.id,
                                                      Passkey.tenant_id == account.tenant_id))
    if passkey is None:
        raise NotFound(_l("パスキーが見つかりません。"), f"passkey {passkey_id} not of account {account.id}")
    db.session.delete(passkey)
    record_audit(tenant_id=account.tenant_id, actor=actor, action="passkey.deleted", target=account, now=now,
                 changes={"name": passkey.name}, client=client)


def remove_all(account):
    """Delete every passkey of the account (the admin's MFA reset); returns how many."""
    return db.session.execute(delete(Passkey).where(Passkey.account_id == account.id,
                                                    Passkey.tenant_id == account.tenant_id)).rowcount
