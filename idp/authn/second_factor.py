"""The second factor at login: the half-done login, its steps, and admin reset.

Flow (admin_ui/auth/mfa_views.py drives it; each page returns to one dispatcher):
  password ok and the policy (idp/authn/mfa/policy.py) requires MFA
      -> begin(account, now, next_url) gives the browser a token for a half-done login
  step(pending) says what comes next:
      CHOOSE      mode `any`, nothing enrolled: pick TOTP, SMS or a passkey
      TOTP_ENROL  QR code + secret, confirm with a first code
      SMS_PHONE   no usable mobile number: type one twice
      SMS_SEND    the masked number, "送信" (and, while enrolling, "電話番号再設定");
                  once enrolled, a recovery code can be typed instead of sending
      CODE        type the code (TOTP or SMS; once enrolled, a recovery code too)
      PASSKEY_CHECK   mode `passkey` (or `any` with nothing but passkeys): the passkey button only
      PASSKEY_ENROL   mode `passkey` (or `any`, passkey chosen) and no passkey yet: register one (after the
                      old factor, if any)
  An account with a passkey may answer any step with it (verify_passkey): it is the
  stronger factor (user verification), so it completes the login (amr pwd+hwk|swk).
  What the password alone can change (someone who knows only the password must
  not get a factor of their own): the number, while SMS is not yet verified.
  An enrolled factor stays until it is checked: when the policy now asks for
  another method, the old factor (or a recovery code) comes first, then the new
  method is enrolled in the same half-done login. A new number for an enrolled
  SMS factor needs a session opened with MFA (/mfa, "設定し直す", e.g. after a
  recovery code) or an admin reset.
  verify(pending, code, now=, client=) checks the code: a wrong one counts in the
  lockout counter (idp/authn/lockout.py, shared with passwords); a right one finishes
  enrolment (recovery codes shown once), ends the half-done login and completes
  the login (login.complete). The view then starts the SSO session with `amr`.
A half-done login lives 10 minutes and is no session: only these steps accept it.
Ended and expired ones are deleted at the next `begin` (`purge_expired`).
"""
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Optional

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, or_, select, update

from idp.authn import lockout, login
from idp.authn.mfa import codes as mfa_codes
from idp.authn.mfa import passkeys as mfa_passkeys
from idp.authn.mfa import sms as mfa_sms
from idp.authn.mfa import totp as mfa_totp
from idp.authn.mfa.policy import PASSKEY, SMS, TOTP, effective_mode
from idp.directory.account_state import login_block_reason
from idp.logs.audit import NO_CLIENT, Actor, record_audit, record_login
from idp.models import MfaFactor, MfaPendingLogin, MfaRecoveryCode, MfaSmsCode
from idp.platform import ratelimit, sms
from idp.platform.errors import ServiceError
from idp.platform.extensions import db
from idp.platform.random_tokens import digest, new_token

PENDING_LIFETIME = timedelta(minutes=10)
CHOOSE, TOTP_ENROL, SMS_PHONE, SMS_SEND, CODE = "choose", "totp_enrol", "sms_phone", "sms_send", "code"
PASSKEY_CHECK, PASSKEY_ENROL = "passkey", "passkey_enrol"
INVALID_CODE = "invalid_code"
LOCKED = login.LOCKED
AMR = {TOTP: ("pwd", "otp", "mfa"), SMS: ("pwd", "sms", "mfa"), "recovery": ("pwd", "otp", "mfa")}


class WrongStep(ServiceError):
    """A request for a step the half-done login is not at (a stale or forged form)."""

    status_code = 409

    def __init__(self, detail):
        super().__init__(_l("この操作は現在行えません。最初からやり直してください。"), detail)


@dataclass
class Verification:
    error: Optional[str] = None
    amr: tuple = ()
    recovery_codes: list = field(default_factory=list)
    next_url: str = "/"
    finished: bool = True  # False: the old factor was checked, the new method's enrolment follows

    @property
    def ok(self):
        return self.error is None


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    uri: str
    qr_svg: str


def begin(account, now, next_url="/", factor_verified=False):
    """Open a half-done login for `account` (password just accepted); return the browser's token.
    `factor_verified`: its enrolled factor was checked already (before the company's choice), and the
    policy asks for another method: the half-done login starts at that method's enrolment."""
    purge_expired(now)
    raw = new_token()
    db.session.add(MfaPendingLogin(token_hash=digest(raw), tenant_id=account.tenant_id, account_id=account.id,
                                   next_url=(next_url or "/")[:2000], created_at=now,
                                   expires_at=now + PENDING_LIFETIME,
                                   factor_verified_at=now if factor_verified else None))
    return raw


def resolve(raw, now):
    """The live half-done login for a token, or None (unknown, ended, expired, account blocked)."""
    if not raw or not isinstance(raw, str) or len(raw) > 200:
        return None
    pending = db.session.scalar(select(MfaPendingLogin).where(MfaPendingLogin.token_hash == digest(raw)))
    if pending is None or pending.ended_at is not None or now >= pending.expires_at:
        return None
    if login_block_reason(pending.account, now) is not None:
        return None
    return pending


def cancel(pending, now):
    pending.ended_at = now


def purge_expired(now):
    """Delete ended and expired half-done logins and the SMS codes the throttle no longer counts.

    Runs at every new half-done login (opportunistic); returns (half-done logins, SMS codes) deleted."""
    logins = db.session.execute(delete(MfaPendingLogin).where(
        or_(MfaPendingLogin.expires_at <= now, MfaPendingLogin.ended_at.is_not(None)))).rowcount
    return logins, mfa_sms.purge_old_codes(now)


def factor_of(account):
    return db.session.scalar(select(MfaFactor).where(MfaFactor.account_id == account.id,
                                                     MfaFactor.tenant_id == account.tenant_id))


def _method(pending):
    """(method, enrolled factor or None): the factor to check, or (factor None) the method to enrol."""
    mode = effective_mode(pending.account)
    factor = factor_of(pending.account)
    if mode == PASSKEY and (factor is None or pending.factor_verified_at is not None
                            or mfa_passkeys.has_passkey(pending.account)):
        return PASSKEY, None  # a passkey already there suffices; else the old factor first, then enrol one
    if factor is not None and not _switch_checked(pending, factor, mode):
        return factor.method, factor  # also when the policy wants another method: the old factor first
    if mode in (TOTP, SMS):
        return mode, None
    return (pending.method or None), None


def _switching(factor, mode):
    """The policy asks for another method than the enrolled one."""
    return mode in (TOTP, SMS, PASSKEY) and factor.method != mode


def needs_new_method(account):
    """The account's enrolled factor is not the method its policy now asks for (enrol that one next)."""
    factor = factor_of(account)
    return factor is not None and _switching(factor, effective_mode(account))


def _switch_checked(pending, factor, mode):
    return _switching(factor, mode) and pending.factor_verified_at is not None


def _phone(pending, factor):
    if factor is not None:
        return factor.phone
    return pending.phone or mfa_sms.normalize_phone(pending.account.mobile) or ""


def step(pending):
    method, factor = _method(pending)
    if method == PASSKEY or (method is None and mfa_passkeys.has_passkey(pending.account)):
        return PASSKEY_CHECK if mfa_passkeys.has_passkey(pending.account) else PASSKEY_ENROL
    if method is None:
        return CHOOSE
    if method == TOTP:
        return CODE if factor is not None else TOTP_ENROL
    if not _phone(pending, factor):
        return SMS_PHONE
    return CODE if pending.sms_sent_at is not None else SMS_SEND


def describe(pending):
    """Plain values for the pages: method, whether enrolling, the masked number, recovery allowed."""
    method, factor = _method(pending)
    phone = _phone(pending, factor) if method == SMS else ""
    method = PASSKEY if step(pending) in (PASSKEY_CHECK, PASSKEY_ENROL) else method
    return {"method": method, "enrolling": factor is None,
            "has_passkey": mfa_passkeys.has_passkey(pending.account),
            "passkey_required": effective_mode(pending.account) == PASSKEY,
            "masked_phone": sms.mask(phone) if phone else "",
            "can_change_phone": method == SMS and factor is None, "email": pending.account.email,
            "recovery_only": factor is not None and step(pending) == SMS_SEND}


def accepts_code(pending):
    """Whether the code page takes a code now: at the code step, while enrolling TOTP, or a recovery code
    for an enrolled SMS factor before any SMS was sent (the phone may be lost)."""
    current = step(pending)
    return current in (CODE, TOTP_ENROL) or (current == SMS_SEND and _method(pending)[1] is not None)


def _require(pending, *steps):
    current = step(pending)
    if current not in steps:
        raise WrongStep(f"half-done login {pending.id} is at {current}, not {'/'.join(steps)}")


def choose(pending, method):
    """Mode `any`, nothing enrolled: the method to enrol. A passkey is as good a first factor as an
    authenticator app (Okta and Entra ID offer it first too); like the others, only someone past the
    password gets here, in the first login's 10 minutes."""
    _require(pending, CHOOSE)
    if method not in (TOTP, SMS, PASSKEY):
        raise WrongStep(f"unknown method {method!r}")
    pending.method = method


def change_phone(pending, phone, phone_confirm):
    """While enrolling SMS: set the number (typed twice). An enrolled number only an admin reset changes."""
    if not describe(pending)["can_change_phone"]:
        raise WrongStep("phone change refused: SMS already enrolled or not the method")
    pending.phone = mfa_sms.validate_new_phone(phone, phone_confirm)
    pending.sms_sent_at = None


def send_sms(pending, now):
    """Send a code to the half-done login's number at once (SmsThrottled / SmsNotSent on failure)."""
    _require(pending, SMS_SEND, CODE)
    method, factor = _method(pending)
    if method != SMS:
        raise WrongStep("SMS requested but the method is TOTP")
    mfa_sms.send_code(pending.account, _phone(pending, factor), now)
    pending.sms_sent_at = now


def totp_enrolment(pending, product_name):
    """The secret being enrolled (created on first use), its otpauth:// URI and QR code."""
    _require(pending, TOTP_ENROL)
    if pending.totp_secret is None:
        pending.totp_secret = mfa_totp.encrypt_secret(mfa_totp.new_secret())
    secret = mfa_totp.decrypt_secret(pending.totp_secret)
    account = pending.account
    uri = mfa_totp.provisioning_uri(secret, email=account.email,
                                    issuer=mfa_totp.issuer_for(product_name, account.tenant))
    return TotpEnrolment(secret=secret, uri=uri, qr_svg=mfa_totp.qr_svg(uri))


def verify(pending, code, *, now, client):
    """Check a code for the half-done login; on success finish it (see the module doc)."""
    account = pending.account
    ratelimit.guard("code", client=client, account=f"account:{account.id}", login_id=account.email, now=now)
    if not accepts_code(pending):
        raise WrongStep(f"half-done login {pending.id} is at {step(pending)}, it takes no code")
    if lockout.is_locked(account, now):
        record_login(result="failure", reason="locked", account=account, now=now, client=client)
        return Verification(error=LOCKED)
    method, factor = _method(pending)
    kind, totp_step = _check(pending, method, factor, (code or "").strip()[:64], now)
    if kind is None:
        locked = lockout.register_failure(account, now)
        record_login(result="failure", reason="bad_code", account=account, now=now, client=client, protocol=method)
        return Verification(error=LOCKED if locked else INVALID_CODE)
    if factor is not None and _switching(factor, effective_mode(account)):
        pending.factor_verified_at, pending.sms_sent_at = now, None  # now enrol the method the policy asks
        return Verification(finished=False, next_url=pending.next_url)
    codes = _enrol(pending, method, factor, totp_step, now, client) if factor is None else []
    return _finish(pending, now, client, kind, AMR[kind], codes)


def _finish(pending, now, client, kind, amr, codes=()):
    pending.ended_at = now
    login.complete(pending.account, now=now, client=client, method=kind)  # the login event says which factor
    return Verification(amr=amr, recovery_codes=list(codes), next_url=pending.next_url)


def passkey_options(pending, now):
    """The WebAuthn options of the half-done login: registration at PASSKEY_ENROL, else an assertion of
    one of the account's passkeys (WrongStep when it has none)."""
    if step(pending) == PASSKEY_ENROL:
        return mfa_passkeys.registration_options(pending.account, now)
    if not mfa_passkeys.has_passkey(pending.account):
        raise WrongStep(f"half-done login {pending.id}: no passkey to check")
    return mfa_passkeys.authentication_options(purpose=mfa_passkeys.SECOND_FACTOR, now=now, account=pending.account)


def verify_passkey(pending, credential_json, *, now, client):
    """A passkey assertion instead of the code: completes the login (PasskeyError when refused; the
    failure counts in the lockout counter)."""
    account = pending.account
    ratelimit.guard("code", client=client, account=f"account:{account.id}", login_id=account.email, now=now)
    if not mfa_passkeys.has_passkey(account):
        raise WrongStep(f"half-done login {pending.id}: no passkey to check")
    _, passkey = mfa_passkeys.authenticate(credential_json, purpose=mfa_passkeys.SECOND_FACTOR, now=now,
                                           client=client, account=account)
    return _finish(pending, now, client, PASSKEY, mfa_passkeys.amr_of(passkey, after_password=True))


def enrol_passkey(pending, credential_json, name, *, now, client):
    """PASSKEY_ENROL: register the account's first passkey, then complete the login with it."""
    _require(pending, PASSKEY_ENROL)
    passkey = mfa_passkeys.register(pending.account, credential_json, name, now=now, client=client)
    return _finish(pending, now, client, PASSKEY, mfa_passkeys.amr_of(passkey, after_password=True))


def _check(pending, method, factor, code, now):
    """(kind of the accepted code, TOTP step of an enrolment) or (None, None)."""
    if factor is not None:
        sms_since = pending.created_at if pending.sms_sent_at is not None else None
        return check_factor(pending.account, factor, code, now, sms_since), None
    if method == TOTP:
        if not pending.totp_secret:
            return None, None
        found = mfa_totp.accepted_step(mfa_totp.decrypt_secret(pending.totp_secret), code, now)
        return (TOTP, found) if found is not None else (None, None)
    if pending.sms_sent_at is not None and mfa_sms.use_code(pending.account, code, now, since=pending.created_at,
                                                            phone=_phone(pending, None)):
        return SMS, None
    return None, None


def check_factor(account, factor, code, now, sms_since=None):
    """The kind of code the enrolled `factor` accepts now ("recovery", TOTP or SMS: an SMS code sent
    after `sms_since`), spending it; None when it accepts none."""
    if mfa_codes.looks_like_recovery_code(code):
        return "recovery" if mfa_codes.use_recovery_code(account, code, now) else None
    if factor.method == TOTP:
        found = mfa_totp.accepted_step(mfa_totp.decrypt_secret(factor.totp_secret), code, now, factor.totp_last_step)
        return TOTP if found is not None and _advance_step(factor, found) else None
    if sms_since is not None and mfa_sms.use_code(account, code, now, since=sms_since, phone=factor.phone):
        return SMS
    return None


def _advance_step(factor, found):
    """Remember the accepted step atomically: a concurrent request with the same code loses."""
    result = db.session.execute(
        update(MfaFactor).where(MfaFactor.id == factor.id,
                                or_(MfaFactor.totp_last_step.is_(None), MfaFactor.totp_last_step < found))
        .values(totp_last_step=found).execution_options(synchronize_session="fetch"))
    return result.rowcount == 1


def _enrol(pending, method, _factor, totp_step, now, client):
    account = pending.account
    factor = factor_of(account)  # another method's factor is replaced in place
    if factor is None:
        factor = MfaFactor(tenant_id=account.tenant_id, account_id=account.id, enrolled_at=now)
        db.session.add(factor)
    factor.method, factor.enrolled_at = method, now
    factor.totp_secret = pending.totp_secret if method == TOTP else None
    factor.totp_last_step = totp_step
    factor.phone = _phone(pending, None) if method == SMS else ""
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="mfa.enrolled",
                 target=account, now=now, changes={"method": method}, client=client)
    return mfa_codes.issue_recovery_codes(account, now)


def status(account):
    """What an admin or the user sees: the enrolled method (`passkey` when passkeys are all there is, or
    None) and the unused recovery codes."""
    factor = factor_of(account)
    method = factor.method if factor else (PASSKEY if mfa_passkeys.has_passkey(account) else None)
    return {"method": method, "enrolled_at": factor.enrolled_at if factor else None,
            "recovery_codes_left": mfa_codes.remaining_recovery_codes(account) if factor else 0,
            "mode": effective_mode(account)}


def reset_mfa(account, *, now, actor, client=NO_CLIENT):
    """Forget the account's second factor (factor, passkeys, recovery and SMS codes, half-done logins):
    it enrols again at its next login. Audit event `mfa.reset`."""
    factor = factor_of(account)
    passkeys_removed = mfa_passkeys.remove_all(account)
    for model in (MfaRecoveryCode, MfaSmsCode):
        db.session.execute(delete(model).where(model.account_id == account.id,
                                               model.tenant_id == account.tenant_id))
    db.session.execute(update(MfaPendingLogin).where(MfaPendingLogin.account_id == account.id,
                                                     MfaPendingLogin.ended_at.is_(None)).values(ended_at=now))
    if factor is not None:
        db.session.delete(factor)
    record_audit(tenant_id=account.tenant_id, actor=actor, action="mfa.reset", target=account, now=now,
                 changes={"method": [factor.method if factor else None, None],
                          **({"count": [passkeys_removed, 0]} if passkeys_removed else {})}, client=client)


def renew_recovery_codes(account, *, now, client=NO_CLIENT):
    """The user's own new set of 10 recovery codes (the old ones stop working); [] when not enrolled."""
    if factor_of(account) is None:
        return []
    record_audit(tenant_id=account.tenant_id, actor=Actor.of_account(account), action="mfa.recovery_codes_renewed",
                 target=account, now=now, client=client)
    return mfa_codes.issue_recovery_codes(account, now)
