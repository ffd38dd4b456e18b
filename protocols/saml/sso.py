"""SSO service (SP-initiated, Redirect and POST bindings), the resume after /login, IdP-initiated launch.

Every answer that reaches an SP is a POST to a registered ACS URL through an auto-submitting
form (which also works without JavaScript); anything else is a 400 page.
"""
import logging
from dataclasses import replace

from flask import g, redirect, request, url_for

from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.saml import sso as saml_sso
from idp.web.endpoints import login_url
from idp.web.sso import FRESH_LOGIN_PARAM, client_info, new_login_marker, take_fresh_login
from protocols.saml import responses
from protocols.saml.authn_request import PendingLogin, dump_pending, epoch, load_pending, parse
from protocols.saml.blueprint import b64, bp, post_page, with_policy
from protocols.saml.messages import SamlMessageError, read

log = logging.getLogger(__name__)


def post_form(url, field, xml, relay_state):
    """Bindings 3.5.4: an HTML form that the browser submits to the SP."""
    return post_page(url, field, b64(xml), relay_state)


REFUSALS = {saml_sso.SamlDenied: (responses.REQUEST_DENIED, responses.RESPONDER),
            saml_sso.SamlInvalidNameIdPolicy: (responses.INVALID_NAMEID_POLICY, responses.REQUESTER),
            saml_sso.SamlNoAuthnContext: (responses.NO_AUTHN_CONTEXT, responses.RESPONDER)}


def _post_status(tenant, pending, now, second_level, top=responses.RESPONDER):
    xml = responses.status(tenant, pending, now, second_level, top)
    return post_form(pending.acs_url, "SAMLResponse", xml, pending.relay_state)


def answer(tenant, pending, now, sp=None, new_request=False):
    """Log in if needed, then post a Response (assertion or status) to the pending request's ACS.
    `new_request`: the request arrived just now (its ID is remembered, a replay is refused)."""
    sp = sp or saml_registry.get(tenant, pending.sp_id)
    if sp is None:
        raise SamlMessageError(f"SP {pending.sp_id} is gone")
    page, outcome = _page(tenant, sp, pending, now)  # rendered before the commit, which expires the rows
    if not saml_sso.conclude(tenant, sp, now, client_info(), request_id=pending.request_id if new_request else None,
                             sso_session=g.sso_session, **outcome):  # all writes, then the commit at once
        db.session.rollback()
        raise SamlMessageError(f"replayed request {pending.request_id!r} from {sp.entity_id!r}")
    db.session.commit()
    return page


def _page(tenant, sp, pending, now):
    """(the page, what `saml_sso.conclude` records for it)."""
    session = g.sso_session
    try:
        name_id_format = saml_sso.name_id_format_for(sp, pending.name_id_format, pending.sp_name_qualifier)
        if saml_sso.needs_login(session, tenant, force_authn=pending.force_authn,
                                fresh=take_fresh_login(pending.login_marker, session)):
            if pending.is_passive:  # Core 3.4.1: the IdP must not take visible control
                return _post_status(tenant, pending, now, responses.NO_PASSIVE), {}
            return _login_redirect(tenant, pending, session), {}
        subject = saml_sso.issue(tenant, sp, session, now, name_id_format, pending.allow_create,
                                 tuple(pending.authn_context), pending.authn_comparison)
    except tuple(REFUSALS) as exc:
        log.info("SAML request refused: %s", exc.detail)
        return (_post_status(tenant, pending, now, *REFUSALS[type(exc)]),
                {"denied": isinstance(exc, saml_sso.SamlDenied)})
    return post_form(pending.acs_url, "SAMLResponse", responses.success(tenant, sp, subject, pending, now),
                     pending.relay_state), {"subject": subject}


def _login_redirect(tenant, pending, session):
    """To the login page; its `next` resumes the request with a new marker of its own login step (signed
    inside `p`, and beside it for the login page to record)."""
    pending = replace(pending, login_marker=new_login_marker())
    resume = url_for("saml.resume", tenant_slug=tenant.slug, p=dump_pending(pending),
                     **{FRESH_LOGIN_PARAM: pending.login_marker})
    return redirect(login_url(tenant.slug, next=resume, **({"reauth": "1"} if session is not None else {})))


@bp.route("/sso", methods=["GET", "POST"], endpoint="sso")
def sso():
    tenant, now = g.saml_tenant, current_time()
    incoming = read(request.method, request.args, request.form, request.query_string)
    pending, sp = parse(tenant, incoming, now)
    return answer(tenant, pending, now, sp, new_request=True)


@bp.get("/sso/resume", endpoint="resume")
def resume():
    tenant, now = g.saml_tenant, current_time()
    return answer(tenant, load_pending(tenant, request.args.get("p"), now), now)


@bp.get("/launch/<int:sp_id>", endpoint="launch")
def launch(sp_id):
    """IdP-initiated SSO (Profiles 4.1.5): an unsolicited response to the SP's default ACS."""
    tenant, now = g.saml_tenant, current_time()
    sp = saml_registry.get(tenant, sp_id)
    if sp is None:
        raise SamlMessageError(f"no SP {sp_id} at tenant {tenant.slug}")
    pending = PendingLogin(tenant_id=tenant.id, sp_id=sp.id, request_id=None, acs_url=saml_registry.acs_for(sp),
                           relay_state=sp.relay_state, force_authn=False, is_passive=False, seen=epoch(now))
    return answer(tenant, pending, now)


for _view in (sso, resume, launch):  # they answer with the auto-submitting form
    with_policy(_view)
