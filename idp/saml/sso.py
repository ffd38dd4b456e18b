"""SAML Web Browser SSO rules: when to log in again, who may get an assertion, and what it says.

`issue(tenant, sp, sso_session, now)` checks the group assignment (a refusal raises `SamlDenied`,
which the protocol turns into a Responder/RequestDenied status) and returns the subject (NameID in
the SP's format) with the attributes mapped from the protocol-neutral identity. It writes nothing:
`conclude` then writes what the answer records, together, just before the commit: the request's ID
(remembered until it expires, so a replayed request is refused), the SP as a participant of the SSO
session (Single Logout) and the login event. SQLite lets one connection write at a time, from its
first write to its commit, so the signing and rendering run before any write, not under the lock.
"""
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from idp.apps.catalogue import may_use
from idp.authn.identity import identity_of
from idp.authn.mfa import policy as mfa_policy
from idp.logs.audit import record_login
from idp.models import SsoSession
from idp.models.saml import SamlParticipant, SamlPersistentId, SamlSeenRequest
from idp.platform.errors import ServiceError
from idp.platform.extensions import db
from idp.platform.persistence import insert_now
from idp.platform.random_tokens import new_token
from idp.platform.validation import without_xml_invalid

PROTOCOL = "saml"
REQUEST_LIFETIME = timedelta(minutes=10)  # how old an AuthnRequest/LogoutRequest's IssueInstant may be
CLOCK_SKEW = timedelta(minutes=3)  # how far in the future it may be
PURGE_EVERY = 50
NAMEID_URNS = {
    "email": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
}
BASIC = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
URI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
PRESETS = {
    "basic": {"email": "email", "name": "name", "groups": "groups"},
    "uri": {"email": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
            "name": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
            "groups": "http://schemas.xmlsoap.org/claims/Group"},
    "oid": {"email": "urn:oid:0.9.2342.19200300.100.1.3", "name": "urn:oid:2.16.840.1.113730.3.1.241",
            "groups": "urn:oid:1.3.6.1.4.1.5923.1.5.1.1"},
}
AUTHN_CONTEXT_PASSWORD = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
AUTHN_CONTEXT_MFA = "https://refeds.org/profile/mfa"
# The classes a session can be stated as, strongest first, with their strength (RequestedAuthnContext)
STRENGTH = {AUTHN_CONTEXT_MFA: 2, AUTHN_CONTEXT_PASSWORD: 1, "urn:oasis:names:tc:SAML:2.0:ac:classes:Password": 1,
            "urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified": 0}


class SamlDenied(ServiceError):
    """The user may not use this SP: answered with a Responder/RequestDenied status."""

    status_code = 403


class SamlInvalidNameIdPolicy(ServiceError):
    """The NameIDPolicy asks for what we do not offer: answered with an InvalidNameIDPolicy status."""


INVALID_POLICY = "invalid NameIDPolicy"


class SamlNoAuthnContext(ServiceError):
    """The session cannot be stated as the SP asks (RequestedAuthnContext): a NoAuthnContext status."""


def authn_context_for(mfa, requested=(), comparison="exact"):
    """Core 3.3.2.2.1: the AuthnContextClassRef to state for a session (with a second factor or not) that
    meets the SP's RequestedAuthnContext, or SamlNoAuthnContext. Classes we do not know count for nothing."""
    possible = [c for c in STRENGTH if STRENGTH[c] <= (2 if mfa else 1)]
    if not requested:
        return possible[0]
    known = [STRENGTH[c] for c in requested if c in STRENGTH]
    if comparison in ("exact", None, ""):
        chosen = next((c for c in possible if c in requested), None)
    elif known and comparison == "minimum":
        chosen = possible[0] if STRENGTH[possible[0]] >= min(known) else None
    elif known and comparison == "better":
        chosen = possible[0] if STRENGTH[possible[0]] > min(known) else None
    elif known and comparison == "maximum":
        chosen = next((c for c in possible if STRENGTH[c] <= max(known)), None)
    else:
        chosen = None
    if chosen is None:
        raise SamlNoAuthnContext("no authentication context", detail=f"cannot state {comparison} {list(requested)} "
                                                                     f"for a {'MFA' if mfa else 'password'} session")
    return chosen


@dataclass(frozen=True)
class Subject:
    name_id: str
    name_id_format: str  # URN
    attributes: tuple  # ((name, name_format, (values, ...)), ...)
    authn_context: str
    auth_time: object
    session_index: str


def needs_login(sso_session, tenant, *, force_authn, fresh):
    """True without a session of this tenant, when the MFA policy now asks for a second factor the session
    was opened without (a step-up), and for ForceAuthn (Core 3.4.1: the IdP MUST authenticate the presenter
    directly) unless `fresh`: the session was opened by this request's own login step (the marker of its
    return URL, idp.web.sso), never by comparing the session's auth_time with the request's arrival."""
    if sso_session is None or sso_session.tenant_id != tenant.id:
        return True
    if mfa_policy.needs_step_up(sso_session):
        return True
    return bool(force_authn) and not fresh


_STATEMENTS = {}


def _statements(dialect):
    """(replay INSERT, participant upsert) for the dialect, built once (no statement compiled per request)."""
    built = _STATEMENTS.get(dialect)
    if built is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        participant = insert(SamlParticipant.__table__)
        built = _STATEMENTS[dialect] = (
            insert(SamlSeenRequest.__table__).on_conflict_do_nothing(index_elements=["sp_id", "request_id"]),
            participant.on_conflict_do_update(index_elements=["sso_session_id", "sp_id"], set_={
                "name_id": participant.excluded.name_id, "name_id_format": participant.excluded.name_id_format,
                "logged_out_at": None}))
    return built


def remember_request(tenant, sp, request_id, now):
    """False when this SP's request ID was already seen (a replay); otherwise remember it, until no request
    with that IssueInstant would be accepted any more (lifetime + allowed clock skew)."""
    connection = db.session.connection()
    if secrets.randbelow(PURGE_EVERY) == 0:  # expired IDs go now and then, not at every request
        connection.execute(delete(SamlSeenRequest).where(SamlSeenRequest.tenant_id == tenant.id,
                                                         SamlSeenRequest.expires_at < now))
    seen, _participant = _statements(connection.dialect.name)
    result = connection.execute(seen, {"tenant_id": tenant.id, "sp_id": sp.id, "request_id": request_id[:256],
                                       "expires_at": now + REQUEST_LIFETIME + CLOCK_SKEW})
    return result.rowcount == 1


def name_id_format_for(sp, requested=None, sp_name_qualifier=None):
    """Core 3.4.1.1 NameIDPolicy: the format the SP asks for when we offer it, its registered one when it
    asks for none (or unspecified); SamlInvalidNameIdPolicy for any other format or another qualifier."""
    if sp_name_qualifier and sp_name_qualifier != sp.entity_id:  # no affiliations here
        raise SamlInvalidNameIdPolicy(INVALID_POLICY,
                                      detail=f"SPNameQualifier {sp_name_qualifier!r} of {sp.entity_id!r}")
    if not requested or requested == NAMEID_URNS["unspecified"]:
        return sp.nameid_format
    chosen = next((key for key, urn in NAMEID_URNS.items() if urn == requested), None)
    if chosen is None:
        raise SamlInvalidNameIdPolicy(INVALID_POLICY,
                                      detail=f"NameIDPolicy Format {requested!r} of {sp.entity_id!r}")
    return chosen


def persistent_id(sp, account, now, allow_create=True):
    """An opaque value, stable for this (SP, account) pair and different at every other SP."""
    row = db.session.scalar(select(SamlPersistentId).where(SamlPersistentId.sp_id == sp.id,
                                                           SamlPersistentId.account_id == account.id))
    if row is None and not allow_create:  # Core 3.4.1.1 AllowCreate="false"
        raise SamlInvalidNameIdPolicy(INVALID_POLICY, detail=f"no persistent NameID yet for account {account.id} "
                                                             f"at {sp.entity_id!r}")
    if row is None:
        row = SamlPersistentId(tenant_id=sp.tenant_id, sp_id=sp.id, account_id=account.id, value=new_token(24),
                               created_at=now)
        db.session.add(row)
    return row.value


def attributes_for(sp, identity):
    """((name, NameFormat, values)) from the SP's preset, overridden by its own attribute names."""
    names = {**PRESETS[sp.attribute_preset], **sp.attribute_names}
    values = {"email": (identity.email,), "name": (identity.name,), "groups": tuple(identity.groups),
              "subject": (identity.subject,), "department": (identity.department,),
              "organization": (identity.organization,), "phone": (identity.phone,)}
    result = []
    for key, name in names.items():
        present = tuple(without_xml_invalid(v) for v in values[key] if v)
        if present:
            result.append((name, URI if ":" in name else BASIC, present))
    return tuple(result)


def _name_id(sp, account, identity, now, name_id_format, allow_create):
    if name_id_format == "persistent":
        return persistent_id(sp, account, now, allow_create)
    if name_id_format == "unspecified":
        return identity.subject
    return identity.email


def issue(tenant, sp, sso_session, now, name_id_format=None, allow_create=True, requested_context=(),
          comparison="exact"):
    """The Subject to assert for this SP (NameID in `name_id_format`, default the SP's; the authentication
    context that meets `requested_context`), or SamlDenied, SamlInvalidNameIdPolicy or SamlNoAuthnContext.
    Nothing is written but a new persistent NameID (added to the session): `conclude` records the answer."""
    account, app = sso_session.account, sp.app
    if app.tenant_id != tenant.id or not may_use(account, sp):  # the app's groups, cached
        raise SamlDenied("request denied", detail=f"account {account.id} is not assigned to SAML app {app.id}")
    identity = identity_of(sso_session)
    authn_context = authn_context_for(identity.mfa, requested_context, comparison)
    name_id_format = name_id_format or sp.nameid_format
    return Subject(name_id=_name_id(sp, account, identity, now, name_id_format, allow_create),
                   name_id_format=NAMEID_URNS[name_id_format],
                   attributes=attributes_for(sp, identity),
                   authn_context=authn_context,
                   auth_time=identity.auth_time, session_index=identity.session_id)


def conclude(tenant, sp, now, client_info, *, request_id=None, sso_session=None, subject=None, denied=False):
    """Write what answering a request records, all at once (call it last before the commit): the ID of a new
    request (`request_id`; False when it was seen before, a replay: the caller rolls back); for a sign-in
    (`subject`) the SP as a participant of `sso_session` and a success login event; for a refusal (`denied`)
    a failure login event (`app_not_assigned`). True otherwise."""
    event = None
    if subject is not None or denied:  # made before the first write, which takes SQLite's write lock
        event = record_login(result="success" if subject is not None else "failure", now=now, client=client_info,
                             account=sso_session.account, reason="" if subject is not None else "app_not_assigned",
                             target=sp.app.name[:200], protocol=PROTOCOL, app_id=sp.app.id)
    if request_id is not None and not remember_request(tenant, sp, request_id, now):
        return False
    if subject is not None:
        _record_participant(tenant, sp, sso_session, subject, now)
    if event is not None:
        insert_now(event)
    return True


def _record_participant(tenant, sp, sso_session, subject, now):
    """One upsert: a new participant row, or the existing one with this NameID and not logged out."""
    connection = db.session.connection()
    _seen, participant = _statements(connection.dialect.name)
    connection.execute(participant, {"tenant_id": tenant.id, "sso_session_id": sso_session.id, "sp_id": sp.id,
                                     "name_id": subject.name_id, "name_id_format": subject.name_id_format,
                                     "created_at": now, "logged_out_at": None})


def participants(sso_session, exclude_sp_id=None):
    """The SPs this session signed into that have not logged out yet."""
    rows = db.session.scalars(select(SamlParticipant).where(SamlParticipant.sso_session_id == sso_session.id,
                                                            SamlParticipant.logged_out_at.is_(None))).all()
    return [row for row in rows if row.sp_id != exclude_sp_id]


def front_channel_targets(sso_session, exclude_sp_id=None):
    """The participants of this session that registered an SLO URL (they get our LogoutRequest)."""
    return [row for row in participants(sso_session, exclude_sp_id) if row.sp.slo_url]


def mark_logged_out(rows, now):
    for row in rows:
        row.logged_out_at = now


def end_participant_session(tenant, sp, name_id, session_indexes, current_session, now):
    """The live SSO session a LogoutRequest names (NameID at this SP + SessionIndex), marked logged out
    at that SP, or None. Without a SessionIndex only the browser's own session can be meant."""
    stmt = (select(SamlParticipant).join(SsoSession, SsoSession.id == SamlParticipant.sso_session_id)
            .where(SamlParticipant.tenant_id == tenant.id, SamlParticipant.sp_id == sp.id,
                   SamlParticipant.name_id == name_id, SsoSession.ended_at.is_(None), SsoSession.expires_at > now))
    indexes = [i for i in session_indexes if i]
    if indexes:
        stmt = stmt.where(SsoSession.sid.in_(indexes))
    elif current_session is not None:
        stmt = stmt.where(SsoSession.id == current_session.id)
    else:
        return None
    row = db.session.scalars(stmt).first()
    if row is None:
        return None
    row.logged_out_at = now
    return row.sso_session
