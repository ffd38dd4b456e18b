"""The tenant's IdP metadata (SAML Metadata 2.4.3): the EntityDescriptor /t/<slug>/saml/metadata serves
(protocols.saml.blueprint, which may also sign it) and the admin console offers for download.

The entity ID is the metadata URL, built from IDP_BASE_URL. Every published signing certificate is
listed, so a rotated key is announced before it signs."""
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, md, samlp
from saml2.xmldsig import KeyInfo, X509Certificate, X509Data

from idp import keys
from idp.platform.urls import issuer_for, saml_metadata_url_for
from idp.saml.sso import NAMEID_URNS

BINDINGS = (BINDING_HTTP_REDIRECT, BINDING_HTTP_POST)


def entity_id(tenant):
    return saml_metadata_url_for(tenant.slug)


def endpoint_url(tenant, name):
    return f"{issuer_for(tenant.slug)}/saml/{name}"


def _key_descriptor(pem):
    body = "".join(line for line in pem.strip().splitlines() if "-----" not in line)
    return md.KeyDescriptor(use="signing", key_info=KeyInfo(x509_data=[X509Data(
        x509_certificate=X509Certificate(text=body))]))


def entity_descriptor(tenant, now, descriptor_id=None):
    """The pysaml2 EntityDescriptor of the tenant's IdP; `descriptor_id` for one that will be signed."""
    descriptor = md.IDPSSODescriptor(
        protocol_support_enumeration=samlp.NAMESPACE, want_authn_requests_signed="false",
        key_descriptor=[_key_descriptor(pem) for pem, _signing in keys.saml_certificates(tenant.id, now)],
        single_logout_service=[md.SingleLogoutService(binding=b, location=endpoint_url(tenant, "slo"))
                               for b in BINDINGS],
        name_id_format=[md.NameIDFormat(text=urn) for urn in NAMEID_URNS.values()],
        single_sign_on_service=[md.SingleSignOnService(binding=b, location=endpoint_url(tenant, "sso"))
                                for b in BINDINGS])
    return md.EntityDescriptor(entity_id=entity_id(tenant), idpsso_descriptor=[descriptor], id=descriptor_id)


def unsigned_xml(tenant, now):
    return entity_descriptor(tenant, now).to_string()
