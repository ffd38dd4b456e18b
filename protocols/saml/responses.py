"""Build SAML Responses with lxml, then sign (and encrypt) them in-process.

Success (Profiles 4.1.4.2): Response with InResponseTo, Destination, Issuer, Status; Assertion
with Subject (NameID, bearer SubjectConfirmationData: Recipient, NotOnOrAfter, InResponseTo),
Conditions (NotBefore, NotOnOrAfter, AudienceRestriction), AuthnStatement, AttributeStatement.
The Assertion is signed first, then encrypted for the SP if it registered a certificate, then
the Response is signed (per the SP's `sign` choice). Status responses are always signed.
The tree is built directly in the order of the schema (saml-schema-protocol-2.0.xsd,
saml-schema-assertion-2.0.xsd): no message objects, no serializing and parsing again before signing.
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
SAMLP = samlp.NAMESPACE
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XS = "http://www.w3.org/2001/XMLSchema"
_NSMAP = {"samlp": SAMLP, "saml": SAML, "xsi": XSI}
_XS_NSMAP = {"xs": XS}
_XSI_TYPE = f"{{{XSI}}}type"


def _a(name):
    return f"{{{SAML}}}{name}"


def _p(name):
    return f"{{{SAMLP}}}{name}"


def new_id():
    return "_" + secrets.token_hex(20)


def instant(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _issuer(tenant):
    """The Issuer as a pysaml2 element (the logout messages of slo.py)."""
    return saml.Issuer(text=entity_id(tenant), format=saml.NAMEID_FORMAT_ENTITY)


def _sub(parent, tag, attributes=None, text=None):
    element = etree.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = text
    return element


def _add_issuer(parent, issuer):
    _sub(parent, _a("Issuer"), {"Format": saml.NAMEID_FORMAT_ENTITY}, issuer)


def _add_assertion(parent, issuer, sp, subject, pending, now):
    later = instant(now + ASSERTION_LIFETIME)
    assertion = _sub(parent, _a("Assertion"), {"ID": new_id(), "Version": "2.0", "IssueInstant": instant(now)})
    _add_issuer(assertion, issuer)
    subject_element = _sub(assertion, _a("Subject"))
    _sub(subject_element, _a("NameID"), {"Format": subject.name_id_format, "NameQualifier": issuer,
                                         "SPNameQualifier": sp.entity_id}, subject.name_id)
    confirmation = _sub(subject_element, _a("SubjectConfirmation"), {"Method": saml.SCM_BEARER})
    data = {"NotOnOrAfter": later, "Recipient": pending.acs_url}
    if pending.request_id is not None:
        data["InResponseTo"] = pending.request_id
    _sub(confirmation, _a("SubjectConfirmationData"), data)
    conditions = _sub(assertion, _a("Conditions"), {"NotBefore": instant(now), "NotOnOrAfter": later})
    _sub(_sub(conditions, _a("AudienceRestriction")), _a("Audience"), None, sp.entity_id)
    statement = _sub(assertion, _a("AuthnStatement"),
                     {"AuthnInstant": instant(subject.auth_time), "SessionIndex": subject.session_index})
    _sub(_sub(statement, _a("AuthnContext")), _a("AuthnContextClassRef"), None, subject.authn_context)
    if subject.attributes:
        attributes = _sub(assertion, _a("AttributeStatement"))
        for name, name_format, values in subject.attributes:
            attribute = _sub(attributes, _a("Attribute"), {"Name": name, "NameFormat": name_format})
            for value in values:
                etree.SubElement(attribute, _a("AttributeValue"), {_XSI_TYPE: "xs:string"},
                                 nsmap=_XS_NSMAP).text = value
    return assertion


def _response(tenant, pending, now, *status_codes):
    """The Response element with Issuer and Status (the top-level code, then nested second-level ones)."""
    attributes = {"ID": new_id(), "Version": "2.0", "IssueInstant": instant(now), "Destination": pending.acs_url}
    if pending.request_id is not None:
        attributes["InResponseTo"] = pending.request_id
    root = etree.Element(_p("Response"), attributes, nsmap=_NSMAP)
    issuer = entity_id(tenant)
    _add_issuer(root, issuer)
    parent = _sub(root, _p("Status"))
    for code in status_codes:
        parent = _sub(parent, _p("StatusCode"), {"Value": code})
    return root, issuer


def success(tenant, sp, subject, pending, now):
    """The signed (and possibly encrypted) Response as XML bytes."""
    loaded = keys.signing_key(tenant, "RS256", now)
    root, issuer = _response(tenant, pending, now, samlp.STATUS_SUCCESS)
    assertion = _add_assertion(root, issuer, sp, subject, pending, now)
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
    root, _issuer_value = _response(tenant, pending, now, top, second_level)
    sign(root, keys.signing_key(tenant, "RS256", now))
    metrics.count_saml_response(second_level)
    return etree.tostring(root)
