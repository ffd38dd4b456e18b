"""Build SAML Responses as lxml trees, then sign (and encrypt) them in-process.

Success (Profiles §4.1.4.2): Response with InResponseTo, Destination, Issuer, Status; Assertion
with Subject (NameID, bearer SubjectConfirmationData: Recipient, NotOnOrAfter, InResponseTo),
Conditions (NotBefore, NotOnOrAfter, AudienceRestriction), AuthnStatement, AttributeStatement.
The Assertion is signed first, then encrypted for the SP if it registered a certificate, then
the Response is signed (per the SP's `sign` choice). Status responses are always signed.
The elements are made directly with lxml (the order of Core §2, §3.2.2's schema): pysaml2's message
classes, serialised and parsed again, cost more than both signatures of a response together.
"""
import secrets
from datetime import timedelta

from lxml import etree
from saml2 import saml, samlp

import keys

from .blueprint import entity_id
from .xml_security import SAML, encrypt_assertion, sign

ASSERTION_LIFETIME = timedelta(minutes=5)
REQUEST_DENIED = samlp.STATUS_REQUEST_DENIED
NO_PASSIVE = samlp.STATUS_NO_PASSIVE
INVALID_NAMEID_POLICY = samlp.STATUS_INVALID_NAMEID_POLICY
NO_AUTHN_CONTEXT = samlp.STATUS_NO_AUTHN_CONTEXT
RESPONDER, REQUESTER = samlp.STATUS_RESPONDER, samlp.STATUS_REQUESTER
SAMLP = samlp.NAMESPACE
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
NSMAP = {"samlp": SAMLP, "saml": SAML}
_A = f"{{{SAML}}}"
_P = f"{{{SAMLP}}}"
_XSI_TYPE = f"{{{XSI}}}type"


def new_id():
    return "_" + secrets.token_hex(20)


def instant(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer(tenant):
    """pysaml2's Issuer (for the messages slo.py builds with pysaml2's classes)."""
    return saml.Issuer(text=entity_id(tenant), format=saml.NAMEID_FORMAT_ENTITY)


def _element(parent, tag, text=None, **attributes):
    """A child element; attributes given as None are left out."""
    element = etree.SubElement(parent, tag, {k: v for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _add_issuer(parent, tenant):
    _element(parent, _A + "Issuer", entity_id(tenant), Format=saml.NAMEID_FORMAT_ENTITY)


def _add_assertion(response, tenant, sp, subject, pending, now):
    until = instant(now + ASSERTION_LIFETIME)
    assertion = _element(response, _A + "Assertion", ID=new_id(), Version="2.0", IssueInstant=instant(now))
    _add_issuer(assertion, tenant)
    subject_element = _element(assertion, _A + "Subject")
    _element(subject_element, _A + "NameID", subject.name_id, Format=subject.name_id_format,
             NameQualifier=entity_id(tenant), SPNameQualifier=sp.entity_id)
    confirmation = _element(subject_element, _A + "SubjectConfirmation", Method=saml.SCM_BEARER)
    _element(confirmation, _A + "SubjectConfirmationData", NotOnOrAfter=until, Recipient=pending.acs_url,
             InResponseTo=pending.request_id)
    conditions = _element(assertion, _A + "Conditions", NotBefore=instant(now), NotOnOrAfter=until)
    _element(_element(conditions, _A + "AudienceRestriction"), _A + "Audience", sp.entity_id)
    statement = _element(assertion, _A + "AuthnStatement", AuthnInstant=instant(subject.auth_time),
                         SessionIndex=subject.session_index)
    _element(_element(statement, _A + "AuthnContext"), _A + "AuthnContextClassRef", subject.authn_context)
    if subject.attributes:
        attributes = _element(assertion, _A + "AttributeStatement")
        for name, name_format, values in subject.attributes:
            attribute = _element(attributes, _A + "Attribute", Name=name, NameFormat=name_format)
            for value in values:
                etree.SubElement(attribute, _A + "AttributeValue", {_XSI_TYPE: "xs:string"},
                                 nsmap={"xs": XS, "xsi": XSI}).text = value
    return assertion


def _response(tenant, pending, now, status_code, second_level=None):
    response = etree.Element(_P + "Response", {k: v for k, v in (
        ("ID", new_id()), ("Version", "2.0"), ("IssueInstant", instant(now)), ("Destination", pending.acs_url),
        ("InResponseTo", pending.request_id)) if v is not None}, nsmap=NSMAP)
    _add_issuer(response, tenant)
    code = _element(_element(response, _P + "Status"), _P + "StatusCode", Value=status_code)
    if second_level is not None:
        _element(code, _P + "StatusCode", Value=second_level)
    return response


def success(tenant, sp, subject, pending, now):
    """The signed (and possibly encrypted) Response as XML bytes."""
    loaded = keys.signing_key(tenant, "RS256", now)
    root = _response(tenant, pending, now, samlp.STATUS_SUCCESS)
    assertion = _add_assertion(root, tenant, sp, subject, pending, now)
    if sp.sign in ("assertion", "both"):
        sign(assertion, loaded)
    if sp.encryption_cert:
        encrypt_assertion(assertion, sp.encryption_cert, sp.encryption_algorithm)
    if sp.sign in ("response", "both"):
        sign(root, loaded)
    return etree.tostring(root)


def status(tenant, pending, now, second_level, top=RESPONDER):
    """A signed error status response (SAML Core §3.2.2.2): `top` (Responder, Requester) with `second_level`
    (RequestDenied, NoPassive, InvalidNameIDPolicy, NoAuthnContext)."""
    root = _response(tenant, pending, now, top, second_level)
    sign(root, keys.signing_key(tenant, "RS256", now))
    return etree.tostring(root)
