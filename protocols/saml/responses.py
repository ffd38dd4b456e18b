"""Build SAML Responses with pysaml2's message classes, then sign (and encrypt) them in-process.

Success (Profiles 4.1.4.2): Response with InResponseTo, Destination, Issuer, Status; Assertion
with Subject (NameID, bearer SubjectConfirmationData: Recipient, NotOnOrAfter, InResponseTo),
Conditions (NotBefore, NotOnOrAfter, AudienceRestriction), AuthnStatement, AttributeStatement.
The Assertion is signed first, then encrypted for the SP if it registered a certificate, then
the Response is signed (per the SP's `sign` choice). Status responses are always signed.
"""
import secrets
from datetime import timedelta

from lxml import etree
from saml2 import saml, samlp

from idp import keys
from idp.platform import metrics
from protocols.saml.blueprint import entity_id
from protocols.saml.xml_security import SAML, encrypt_assertion, sign

ASSERTION_LIFETIME = timedelta(minutes=5)
REQUEST_DENIED = samlp.STATUS_REQUEST_DENIED
NO_PASSIVE = samlp.STATUS_NO_PASSIVE
INVALID_NAMEID_POLICY = samlp.STATUS_INVALID_NAMEID_POLICY
NO_AUTHN_CONTEXT = samlp.STATUS_NO_AUTHN_CONTEXT
RESPONDER, REQUESTER = samlp.STATUS_RESPONDER, samlp.STATUS_REQUESTER


def new_id():
    return "_" + secrets.token_hex(20)


def instant(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer(tenant):
    return saml.Issuer(text=entity_id(tenant), format=saml.NAMEID_FORMAT_ENTITY)


def _assertion(tenant, sp, subject, pending, now):
    confirmation = saml.SubjectConfirmationData(recipient=pending.acs_url,
                                                not_on_or_after=instant(now + ASSERTION_LIFETIME),
                                                in_response_to=pending.request_id)
    attributes = [saml.Attribute(name=name, name_format=name_format,
                                 attribute_value=[saml.AttributeValue(text=v) for v in values])
                  for name, name_format, values in subject.attributes]
    return saml.Assertion(
        id=new_id(), version="2.0", issue_instant=instant(now), issuer=_issuer(tenant),
        subject=saml.Subject(
            name_id=saml.NameID(format=subject.name_id_format, text=subject.name_id,
                                name_qualifier=entity_id(tenant), sp_name_qualifier=sp.entity_id),
            subject_confirmation=[saml.SubjectConfirmation(method=saml.SCM_BEARER,
                                                           subject_confirmation_data=confirmation)]),
        conditions=saml.Conditions(not_before=instant(now), not_on_or_after=instant(now + ASSERTION_LIFETIME),
                                   audience_restriction=[saml.AudienceRestriction(
                                       audience=[saml.Audience(text=sp.entity_id)])]),
        authn_statement=[saml.AuthnStatement(
            authn_instant=instant(subject.auth_time), session_index=subject.session_index,
            authn_context=saml.AuthnContext(
                authn_context_class_ref=saml.AuthnContextClassRef(text=subject.authn_context)))],
        attribute_statement=[saml.AttributeStatement(attribute=attributes)] if attributes else [])


def _response(tenant, pending, now, status):
    return samlp.Response(id=new_id(), version="2.0", issue_instant=instant(now), destination=pending.acs_url,
                          in_response_to=pending.request_id, issuer=_issuer(tenant), status=status)


def _to_tree(message):
    return etree.fromstring(message.to_string())


def success(tenant, sp, subject, pending, now):
    """The signed (and possibly encrypted) Response as XML bytes."""
    loaded = keys.signing_key(tenant, "RS256", now)
    response = _response(tenant, pending, now, samlp.Status(status_code=samlp.StatusCode(
        value=samlp.STATUS_SUCCESS)))
    response.assertion = _assertion(tenant, sp, subject, pending, now)
    root = _to_tree(response)
    assertion = root.find(f"{{{SAML}}}Assertion")
    if sp.sign in ("assertion", "both"):
        sign(assertion, loaded)
    if sp.encryption_cert:
        encrypt_assertion(assertion, sp.encryption_cert, sp.encryption_algorithm)
    if sp.sign in ("response", "both"):
        sign(root, loaded)
    metrics.count_saml_response(samlp.STATUS_SUCCESS)
    return etree.tostring(root)


def status(tenant, pending, now, second_level, top=RESPONDER):
    """A signed error status response (SAML Core 3.2.2.2): `top` (Responder, Requester) with `second_level`
    (RequestDenied, NoPassive, InvalidNameIDPolicy, NoAuthnContext)."""
    response = _response(tenant, pending, now, samlp.Status(status_code=samlp.StatusCode(
        value=top, status_code=samlp.StatusCode(value=second_level))))
    root = _to_tree(response)
    sign(root, keys.signing_key(tenant, "RS256", now))
    metrics.count_saml_response(second_level)
    return etree.tostring(root)
