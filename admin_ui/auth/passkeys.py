"""Passkeys over HTTP (idp/authn/mfa/passkeys.py holds the rules; admin_ui/static/passkeys.js calls these).

JSON endpoints take and return JSON; flask-wtf checks their CSRF token in the `X-CSRFToken` header (the
pages carry it in `<meta name="csrf-token">`), and a request whose Origin is another site is refused.
A refused ceremony (PasskeyError) answers 400 `{"error": code, "message": text}`, after a commit: the spent
challenge, the failure count and the login event stay; a half-done login at another step answers 409.
  /mfa/passkeys/options, /mfa/passkeys            register a passkey (signed in, /mfa)
  /mfa/passkeys/<id>/delete                       delete one (a form: the password, or a passkey
                                                  assertion from /mfa/passkeys/reauth/options)
  /login/passkey/options, /login/passkey          sign in with a passkey alone (also /t/<tenant>/…)
  /mfa/passkey/options, /mfa/passkey              the second factor of a half-done login
  /login/mfa/passkey-enrol                        policy `passkey`: the first passkey of a half-done login
"""
from functools import wraps

from flask import flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.auth import bp, start_session
from admin_ui.auth.mfa_views import PENDING_KEY, pending_step
from idp.authn import login as login_service
from idp.authn import second_factor
from idp.authn.mfa import passkeys
from idp.logs.audit import Actor
from idp.platform import ratelimit
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.urls import safe_next
from idp.web.sso import client_info
from idp.web.tenant_urls import tenant_from_url

BAD_REQUEST = _l("リクエストが正しくありません。")
SIGNED_OUT = _l("ログインの有効期限が切れました。もう一度ログインしてください。")
MFA_FIRST = _l("パスキーの登録には、二段階認証でログインし直してください。")


def _error(code, message, status=400):
    return jsonify(error=code, message=str(message)), status


def json_endpoint(view):
    """Same-origin JSON in and out: g.body is the request's JSON object (400 when it is none)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        origin = request.headers.get("Origin")
        if origin is not None and origin != passkeys.expected_origin():
            return _error("origin", BAD_REQUEST, 403)
        body = request.get_json(silent=True) if request.content_length else {}
        if not isinstance(body, dict):
            return _error("bad_request", BAD_REQUEST)
        g.body = body
        try:
            return view(*args, **kwargs)
        except second_factor.WrongStep as exc:
            return _error("wrong_step", exc.message, 409)
        except passkeys.PasskeyError as exc:
            return _refused(exc)
    return wrapper


def signed_in(view):
    """A JSON endpoint of the signed-in user (401 otherwise)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _signed_in():
            return _error("signed_out", SIGNED_OUT, 401)
        return view(*args, **kwargs)
    return wrapper


def half_done_login(view):
    """A JSON endpoint of the browser's half-done login, in g.pending (401 when there is none)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        g.pending = _pending()
        if g.pending is None:
            return _error("signed_out", SIGNED_OUT, 401)
        return view(*args, **kwargs)
    return wrapper


def _refused(exc):
    """A PasskeyError: keep what the attempt wrote (challenge spent, failure counted), answer 400."""
    db.session.commit()
    return _error(exc.code, exc.message)


def _credential():
    credential = g.body.get("credential")
    return credential if isinstance(credential, dict) else None


def _signed_in():
    return g.get("account") is not None and g.get("sso_session") is not None


# --- registration and deletion on /mfa ---------------------------------------------------------------

def may_register():
    """A signed-in user may add a passkey with a session opened with MFA, or, while nothing stronger than
    the password protects the account (no factor, no passkey, MFA off), with the password's session."""
    if "mfa" in g.sso_session.amr.split():
        return True
    return (second_factor.factor_of(g.account) is None and not passkeys.has_passkey(g.account)
            and second_factor.status(g.account)["mode"] == "off")


@bp.route("/mfa/passkeys/options", methods=["POST"])
@json_endpoint
@signed_in
def passkey_registration_options():
    if not may_register():
        return _error("forbidden", MFA_FIRST, 403)
    options = passkeys.registration_options(g.account, current_time())
    db.session.commit()
    return jsonify(options)


@bp.route("/mfa/passkeys", methods=["POST"])
@json_endpoint
@signed_in
def passkey_register():
    if not may_register():
        return _error("forbidden", MFA_FIRST, 403)
    if _credential() is None:
        return _error("bad_request", BAD_REQUEST)
    passkey = passkeys.register(g.account, _credential(), g.body.get("name"), now=current_time(),
                                client=client_info())
    result = {"id": passkey.id, "name": passkey.name}
    db.session.commit()
    flash(_l("パスキーを登録しました。"), "info")
    return jsonify(result), 201


@bp.route("/mfa/passkeys/reauth/options", methods=["POST"])
@json_endpoint
@signed_in
def passkey_reauth_options():
    if not passkeys.has_passkey(g.account):
        return _error("unknown_credential", passkeys.MESSAGES[passkeys.UNKNOWN_CREDENTIAL])
    options = passkeys.authentication_options(purpose=passkeys.REAUTH, now=current_time(), account=g.account)
    db.session.commit()
    return jsonify(options)


def _reauthenticated(now):
    """The delete form's proof: a passkey assertion of this account, or its password."""
    assertion = request.form.get("passkey_assertion", "")
    if assertion:
        try:
            passkeys.authenticate(assertion[:20000], purpose=passkeys.REAUTH, now=now, client=client_info(),
                                  account=g.account)
        except passkeys.PasskeyError as exc:
            return exc.message
        return None
    if passkeys.confirm_password(g.account, request.form.get("password", ""), now=now, client=client_info()):
        return None
    return _l("パスワードが正しくありません。")


@bp.route("/mfa/passkeys/<int:passkey_id>/delete", methods=["POST"])
def passkey_delete(passkey_id):
    """CSRF by the form's token (flask-wtf); the password or a passkey again, then the passkey goes."""
    if not _signed_in():
        return redirect(url_for("auth.login", next=url_for("auth.mfa_settings")))
    now = current_time()
    problem = _reauthenticated(now)
    if problem is None:
        passkeys.delete_passkey(g.account, passkey_id, now=now, actor=Actor.of_account(g.account),
                                client=client_info())
    db.session.commit()  # the deletion, or the failure count of a wrong password
    if problem is not None:
        flash(problem, "error")
        return redirect(url_for("auth.mfa_settings") + "#passkeys")
    flash(_l("パスキーを削除しました。"), "info")
    return redirect(url_for("auth.mfa_settings") + "#passkeys")


# --- sign-in with a passkey alone ---------------------------------------------------------------------

def _tenant(tenant_slug):
    return tenant_from_url({"tenant_slug": tenant_slug}) if tenant_slug is not None else None


@bp.route("/login/passkey/options", methods=["POST"])
@bp.route("/t/<tenant_slug>/login/passkey/options", methods=["POST"], endpoint="tenant_passkey_login_options")
@json_endpoint
def passkey_login_options(tenant_slug=None):
    tenant = _tenant(tenant_slug)
    now = current_time()
    ratelimit.guard("login", client=client_info(), now=now, tenant_id=getattr(tenant, "id", None))
    options = passkeys.authentication_options(purpose=passkeys.LOGIN, now=now, tenant=tenant)
    db.session.commit()
    return jsonify(options)


@bp.route("/login/passkey", methods=["POST"])
@bp.route("/t/<tenant_slug>/login/passkey", methods=["POST"], endpoint="tenant_passkey_login")
@json_endpoint
def passkey_login(tenant_slug=None):
    """A passkey alone signs in (user verification makes it multi-factor): the SSO cookie, and where to go."""
    tenant = _tenant(tenant_slug)
    if _credential() is None:
        return _error("bad_request", BAD_REQUEST)
    now, client = current_time(), client_info()
    ratelimit.guard("login", client=client, now=now, tenant_id=getattr(tenant, "id", None))
    account, passkey = passkeys.authenticate(_credential(), purpose=passkeys.LOGIN, now=now, client=client,
                                             tenant=tenant)
    login_service.complete(account, now=now, client=client, method=passkeys.METHOD)
    target = safe_next(g.body.get("next") if isinstance(g.body.get("next"), str) else None)
    return start_session(account, now, jsonify(redirect=target), amr=passkeys.amr_of(passkey),
                         returning_to=target)


# --- the second factor of a half-done login -----------------------------------------------------------

def _pending():
    """The browser's live half-done login (its account may still log in), or None."""
    return second_factor.resolve(session.get(PENDING_KEY), current_time())


def _finish(result):
    """The half-done login completed with a passkey: sign in, tell the page where to go."""
    session.pop(PENDING_KEY, None)
    target = safe_next(result.next_url)
    return start_session(g.pending.account, current_time(), jsonify(redirect=target), amr=result.amr,
                         returning_to=target)


@bp.route("/mfa/passkey/options", methods=["POST"])
@json_endpoint
@half_done_login
def passkey_second_factor_options():
    options = second_factor.passkey_options(g.pending, current_time())
    db.session.commit()
    return jsonify(options)


@bp.route("/mfa/passkey", methods=["POST"])
@json_endpoint
@half_done_login
def passkey_second_factor():
    if _credential() is None:
        return _error("bad_request", BAD_REQUEST)
    result = second_factor.verify_passkey(g.pending, _credential(), now=current_time(), client=client_info())
    return _finish(result)


@bp.route("/login/mfa/passkey-enrol", methods=["GET"])
@pending_step(second_factor.PASSKEY_ENROL)
def mfa_passkey_enrol():
    """Policy `passkey`, none registered yet: the page with the register button (passkeys.js)."""
    return render_template("auth/mfa_passkey_enrol.html", info=second_factor.describe(g.pending))


@bp.route("/login/mfa/passkey-enrol", methods=["POST"])
@json_endpoint
@half_done_login
def mfa_passkey_enrol_submit():
    if _credential() is None:
        return _error("bad_request", BAD_REQUEST)
    result = second_factor.enrol_passkey(g.pending, _credential(), g.body.get("name"), now=current_time(),
                                         client=client_info())
    return _finish(result)


def passkey_rows(account):
    """Plain values of the /mfa page's passkey table."""
    return [{"id": p.id, "name": p.name, "created_at": p.created_at, "last_used_at": p.last_used_at}
            for p in passkeys.passkeys_of(account)]
