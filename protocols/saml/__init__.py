"""SAML 2.0 identity provider per tenant (responses built as lxml trees and signed in-process; the SPs'
signatures verified and assertions encrypted with the xmlsec binding; pysaml2 for outgoing logout messages
and metadata).

Flow of a login: the SP sends an AuthnRequest to /t/<tenant>/saml/sso (Redirect or POST; one parser,
messages.py, authn_request.py) → without a usable SSO session of this tenant the browser logs in at
/t/<tenant>/login (that tenant's account only) and `next` resumes with the parsed request (signed,
sso.py) → idp.saml.sso decides (group assignment, NameID, attributes) → responses.py builds the
Response, signs it (and the Assertion, optionally encrypted: xml_security.py) and the browser POSTs
it to the registered ACS. /saml/launch/<sp> is IdP-initiated SSO (portal tile); /saml/slo is Single
Logout (slo.py): the session ends at once, then one page sends LogoutRequests to the session's other
SPs in hidden frames and goes on by itself; portal and OIDC logouts reach that page through
/saml/slo/propagate (idp.saml.logout)."""


def init_app(app):
    """Register the SAML endpoints under /t/<tenant>/saml/."""
    from idp.platform.extensions import csrf
    from protocols.saml import slo, sso  # noqa: F401  (register routes)
    from protocols.saml.blueprint import bp
    csrf.exempt(bp)  # SAML messages are POSTed by other sites; they carry their own signatures
    app.register_blueprint(bp)
