"""The `saml` blueprint under /t/<tenant>/saml/ and the IdP metadata (SAML Metadata 2.4.3).

The entity ID is the metadata URL, built from IDP_BASE_URL. An unknown or terminated tenant is a
404, so an SP registered at tenant A is unknown at B. Metadata lists every published signing
certificate, so a rotated key is announced before it signs.
"""
import base64
import secrets

from flask import Blueprint, Response, g, request
from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md, samlp
from saml2.xmldsig import KeyInfo, X509Certificate, X509Data

from idp import keys
from idp.platform.clock import current_time
from idp.platform.urls import issuer_for, saml_metadata_url_for
from idp.saml.sso import NAMEID_URNS
from idp.web.tenant_urls import tenant_from_url
from protocols.saml.xml_security import sign

bp = Blueprint("saml", __name__, url_prefix="/t/<tenant_slug>/saml", template_folder="templates")
BINDINGS = (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)
# The app's Content-Security-Policy (idp/__init__.py) with a script-src, so that talisman adds the
# request's nonce and the auto-submit script of our pages may run (without one only default-src applies).
PAGE_POLICY = {"default-src": "'self'", "img-src": "'self' data:", "form-action": "*", "frame-ancestors": "'none'",
               "script-src": "'self'"}


def with_policy(view, content_security_policy=None, frame_options="DENY"):
    """Per-view security headers (flask-talisman reads `talisman_view_options`)."""
    view.talisman_view_options = {"content_security_policy": content_security_policy or PAGE_POLICY,
                                  "frame_options": frame_options}
    return view


@bp.url_value_preprocessor
def _load_tenant(_endpoint, values):
    g.saml_tenant = tenant_from_url(values)


def entity_id(tenant):
    return saml_metadata_url_for(tenant.slug)


def endpoint_url(tenant, name):
    return f"{issuer_for(tenant.slug)}/saml/{name}"


def _key_descriptor(pem):
    body = "".join(line for line in pem.strip().splitlines() if "-----" not in line)
    return md.KeyDescriptor(use="signing", key_info=KeyInfo(x509_data=[X509Data(
        x509_certificate=X509Certificate(text=body))]))


def metadata_xml(tenant, now, signed=False):
    """The EntityDescriptor of the tenant's IdP (Metadata 2.4.3); `signed`: enveloped signature by the
    current signing key (Metadata 3), referencing the descriptor's ID."""
    descriptor = md.IDPSSODescriptor(
        protocol_support_enumeration=samlp.NAMESPACE, want_authn_requests_signed="false",
        key_descriptor=[_key_descriptor(pem) for pem, _signing in keys.saml_certificates(tenant.id, now)],
        single_logout_service=[md.SingleLogoutService(binding=b, location=endpoint_url(tenant, "slo"))
                               for b in BINDINGS],
        name_id_format=[md.NameIDFormat(text=urn) for urn in NAMEID_URNS.values()],
        single_sign_on_service=[md.SingleSignOnService(binding=b, location=endpoint_url(tenant, "sso"))
                                for b in BINDINGS])
    entity = md.EntityDescriptor(entity_id=entity_id(tenant), idpsso_descriptor=[descriptor],
                                 id="_" + secrets.token_hex(20) if signed else None)
    if not signed:
        return entity.to_string()
    root = etree.fromstring(entity.to_string())
    sign(root, keys.signing_key(tenant, "RS256", now))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@bp.get("/metadata", endpoint="metadata")
def metadata():
    """`?signed=1` for signed metadata (for SPs that verify it against our certificate)."""
    xml = metadata_xml(g.saml_tenant, current_time(), signed=request.args.get("signed") == "1")
    response = Response(xml, mimetype="application/samlmetadata+xml")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def b64(data):
    return base64.b64encode(data).decode("ascii")
