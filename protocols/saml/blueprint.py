"""The `saml` blueprint under /t/<tenant>/saml/ and the IdP metadata (SAML Metadata 2.4.3).

The entity ID is the metadata URL, built from IDP_BASE_URL. An unknown or terminated tenant is a
404, so an SP registered at tenant A is unknown at B. Metadata lists every published signing
certificate, so a rotated key is announced before it signs.
"""
import base64
import secrets

from flask import Blueprint, Response, current_app, g, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from lxml import etree

from idp import keys
from idp.platform.clock import current_time
from idp.saml import idp_metadata
from idp.saml.idp_metadata import endpoint_url, entity_id  # noqa: F401  (the protocol modules' names)
from idp.web.tenant_urls import tenant_from_url
from protocols.saml.xml_security import sign

bp = Blueprint("saml", __name__, url_prefix="/t/<tenant_slug>/saml", template_folder="templates")
BINDINGS = idp_metadata.BINDINGS
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


def metadata_xml(tenant, now, signed=False):
    """The tenant's IdP metadata (idp.saml.idp_metadata); `signed`: enveloped signature by the current
    signing key (Metadata 3), referencing the descriptor's ID."""
    if not signed:
        return idp_metadata.unsigned_xml(tenant, now)
    root = etree.fromstring(idp_metadata.entity_descriptor(tenant, now, "_" + secrets.token_hex(20)).to_string())
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


POST_PAGE_TEXTS = {"title": _l("アプリに移動しています"),
                   "noscript": _l("JavaScriptが無効です。「続行」を押してください。"),
                   "button": _l("続行")}
_post_page_texts = {}  # {locale: the texts translated}: the catalogues do not change while the process runs


def post_page(url, field, value, relay_state=""):
    """Bindings 3.5.4: the page whose form the browser posts to `url` by itself (a button without JavaScript).
    It stands alone (no base layout), so it gets its few values here rather than through the app's
    context processors, with its texts translated once per locale and process (SSO answers with it)."""
    locale = str(get_locale() or "ja")
    texts = _post_page_texts.get(locale)
    if texts is None:
        texts = _post_page_texts[locale] = {key: str(text) for key, text in POST_PAGE_TEXTS.items()}
    return current_app.jinja_env.get_template("saml/post.html").render(
        url=url, field=field, value=value, relay_state=relay_state, current_locale=locale, **texts)
