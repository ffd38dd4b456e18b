"""Authorization-endpoint rules: may the live SSO session go straight through, may it use the app.

- A session of another tenant, or of another user than `id_token_hint` names, does not count.
- `prompt=login`, `max_age=0` (the same, Core 3.1.2.1) and an exceeded `max_age` ask for this request's
  own login step: `fresh` says whether it happened (the marker of its return URL, idp.web.sso), so a
  login in the same instant but before the request does not count, and the request resumes once after it.
- The user's group must be assigned to the app; a refusal is a login event, and so is a success.
"""
from datetime import timedelta

from authlib.oauth2.rfc6749.errors import AccessDeniedError

from idp.apps.catalogue import may_use
from idp.authn.mfa import policy as mfa_policy
from idp.logs.audit import record_login
from idp.oidc.tokens import issue_code
from idp.platform.persistence import insert_now

PROTOCOL = "oidc"


def needs_login(sso_session, tenant, *, prompt, max_age, hint_subject, fresh, now):
    """True when the browser must (re-)authenticate before a code can be issued, including a step-up when
    the MFA policy now asks for a second factor the session was opened without (mfa_policy.needs_step_up).
    `fresh`: the session was opened by this request's own login step (see the module's docstring)."""
    if sso_session is None or sso_session.tenant_id != tenant.id:
        return True
    if mfa_policy.needs_step_up(sso_session):
        return True
    if hint_subject and hint_subject != sso_session.account.subject:
        return True
    if fresh:
        return False
    if "login" in prompt or max_age == 0:
        return True
    return max_age is not None and now - sso_session.auth_time > timedelta(seconds=max_age)


def grant_code(tenant, oidc_client, sso_session, *, redirect_uri, scope, nonce, code_challenge, claims, now,
               client_info, state=None):
    """Issue a code if the account's group may use the app; else AccessDeniedError (logged)."""
    account = sso_session.account
    app = oidc_client.app
    if not may_use(account, oidc_client):
        record_login(result="failure", now=now, client=client_info, account=account, reason="app_not_assigned",
                     target=app.name[:200], protocol=PROTOCOL, app_id=app.id)
        raise AccessDeniedError("the user is not allowed to use this app", redirect_uri=redirect_uri, state=state)
    insert_now(record_login(result="success", now=now, client=client_info, account=account, target=app.name[:200],
                            protocol=PROTOCOL, app_id=app.id))  # written now: nothing left to flush at the commit
    return issue_code(tenant, oidc_client, sso_session, redirect_uri=redirect_uri, scope=scope, nonce=nonce,
                      code_challenge=code_challenge, claims=claims, now=now)
