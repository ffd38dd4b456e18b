"""SAML service provider registration and lookup (always within one tenant).

Each SP is an `App` row (protocol "saml") plus a `SamlServiceProvider` row. ACS and SLO URLs
must be https (or http on loopback, for local test SPs); certificates are PEM X.509. The app's
launch URL is our IdP-initiated SSO endpoint, so the portal tile starts an unsolicited response.
"""
import base64
import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Sequence

from cryptography import x509
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.apps.catalogue import new_app
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import App
from idp.models.app import PROTOCOL_SAML
from idp.models.saml import SamlServiceProvider
from idp.platform import config_cache
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.platform.urls import issuer_for
from idp.platform.validation import text_errors, uri_errors

NAMEID_FORMATS = ("email", "persistent", "unspecified")
SIGN_CHOICES = ("response", "assertion", "both")
ATTRIBUTE_PRESETS = ("basic", "uri", "oid")
ENCRYPTION_ALGORITHMS = ("aes256-gcm", "aes256-cbc")  # the assertion's content encryption (first: default)
ATTRIBUTE_KEYS = ("email", "name", "groups", "subject", "department", "organization", "phone")
PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)
# How our LogoutRequests and LogoutResponses reach the SP's SLO URL: HTTP-Redirect, or HTTP-POST for an SP
# that reads only that (its metadata offers no HTTP-Redirect SingleLogoutService).
SLO_REDIRECT, SLO_POST = "redirect", "post"
SLO_BINDINGS = (SLO_REDIRECT, SLO_POST)
config_cache.watch(SamlServiceProvider)  # an SP's change drops the per-process copies of its tenant


@dataclass(frozen=True)
class RegisteredSp:
    app: App
    sp: SamlServiceProvider

    def as_json(self):
        return {"app_id": self.app.id, "entity_id": self.sp.entity_id}


def launch_path(tenant_slug, sp_id):
    return f"{issuer_for(tenant_slug)}/saml/launch/{sp_id}"


def normalize_certificate(text):
    """PEM (or the bare base64 of metadata's X509Certificate) → PEM; ValueError if not a certificate."""
    text = (text or "").strip()
    if not text:
        return ""
    match = PEM_RE.search(text)
    body = "".join((match.group(1) if match else text).split())
    der = base64.b64decode(body, validate=True)
    x509.load_der_x509_certificate(der)
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"


def _cert_errors(pem):
    try:
        normalize_certificate(pem)
    except (ValueError, TypeError):
        return [_l("証明書の形式が正しくありません（PEM形式のX.509証明書を指定してください）。")]
    return []


def _acs_endpoints(acs_urls):
    """[url, …] or [(url, index, is_default), …] → the stored list; the first is default when none is."""
    endpoints = []
    for position, item in enumerate(acs_urls):
        url, index, is_default = (item, position, False) if isinstance(item, str) else item
        endpoints.append({"url": url.strip(), "index": int(index), "default": bool(is_default)})
    if endpoints and not any(e["default"] for e in endpoints):
        endpoints[0]["default"] = True
    return endpoints


def slo_endpoint(sp):
    """(URL, SLO_REDIRECT or SLO_POST) of the SP's SingleLogoutService, ("", None) without one."""
    if not sp.slo_url:
        return "", None
    return sp.slo_url, SLO_POST if sp.slo_binding == SLO_POST else SLO_REDIRECT


def _errors(tenant, *, name, entity_id, endpoints, slo_url, signing_cert, encryption_cert, nameid_format,
            sign, attribute_preset, attribute_map, relay_state, requests_signed, encryption_algorithm="aes256-gcm",
            slo_binding=SLO_REDIRECT):
    errors = {"name": text_errors(name, required=True, max_length=200),
              "entity_id": text_errors(entity_id, required=True, max_length=1024)}
    if entity_id and find(tenant, entity_id) is not None:
        errors["entity_id"] = [_l("このエンティティIDはすでに登録されています。")]
    errors["acs_url"] = ([msg for e in endpoints for msg in uri_errors(e["url"])] if endpoints
                         else [_l("ACS URLを1つ以上指定してください。")])
    if len({e["index"] for e in endpoints}) != len(endpoints):
        errors["acs_url"].append(_l("ACSのインデックスが重複しています。"))
    errors["slo_url"] = uri_errors(slo_url) if slo_url else []
    errors["cert"] = _cert_errors(signing_cert)
    if requests_signed and not signing_cert:
        errors["cert"].append(_l("署名付きリクエストを要求するには署名用証明書が必要です。"))
    errors["encryption_cert"] = _cert_errors(encryption_cert)
    if slo_url and not signing_cert:
        errors["cert"].append(_l("シングルログアウトには署名用証明書が必要です。"))
    if (nameid_format not in NAMEID_FORMATS or sign not in SIGN_CHOICES or attribute_preset not in ATTRIBUTE_PRESETS
            or encryption_algorithm not in ENCRYPTION_ALGORITHMS or slo_binding not in SLO_BINDINGS):
        errors["options"] = [_l("選択肢にない値です。")]
    if any(key not in ATTRIBUTE_KEYS or not isinstance(value, str) or not value or len(value) > 256
           for key, value in attribute_map.items()):
        errors["attribute_map"] = [_l("属性の対応付けが正しくありません。")]
    errors["relay_state"] = text_errors(relay_state, required=False, max_length=80)
    return errors


@dataclass
class SpSettings:
    """What registering a SAML SP sets (the CLI's options or the SP's metadata; the console's form
    extends it). `acs_urls`: [url, …] or [(url, index, is_default), …]; `encryption_algorithm`
    (ENCRYPTION_ALGORITHMS) encrypts the assertions when there is an encryption certificate."""

    name: str = ""
    entity_id: str = ""
    acs_urls: Sequence = ()
    slo_url: str = ""
    slo_binding: str = SLO_REDIRECT
    signing_cert: str = ""
    encryption_cert: str = ""
    encryption_algorithm: str = "aes256-gcm"
    nameid_format: str = "email"
    sign: str = "both"
    requests_signed: bool = False
    attribute_preset: str = "basic"
    attribute_map: dict = field(default_factory=dict)
    relay_state: str = ""


def register(tenant, settings, *, now, actor, groups=(), client=NO_CLIENT):
    """Create the app and its SP row; raises ValidationError naming every wrong field."""
    given = {f.name: getattr(settings, f.name) for f in fields(SpSettings)}  # not the console's tile fields
    settings = SpSettings(**{
        **given, "name": (settings.name or "").strip(), "entity_id": (settings.entity_id or "").strip(),
        "slo_url": (settings.slo_url or "").strip(), "attribute_map": dict(settings.attribute_map or {})})
    endpoints = _acs_endpoints(settings.acs_urls)
    values = {k: v for k, v in asdict(settings).items() if k != "acs_urls"}
    errors = _errors(tenant, endpoints=endpoints, **values)
    if any(errors.values()):
        raise ValidationError(errors, detail=f"invalid SAML SP registration: {errors}")
    app = new_app(tenant, name=settings.name, protocol=PROTOCOL_SAML, groups=groups, now=now)
    stored_as_given = ("entity_id", "slo_url", "slo_binding", "encryption_algorithm", "nameid_format", "sign",
                       "attribute_preset", "relay_state")
    sp = SamlServiceProvider(
        tenant_id=tenant.id, app_id=app.id, acs_endpoints=json.dumps(endpoints),
        signing_cert=normalize_certificate(settings.signing_cert),
        encryption_cert=normalize_certificate(settings.encryption_cert),
        requests_signed=bool(settings.requests_signed), attribute_map=json.dumps(settings.attribute_map),
        created_at=now, updated_at=now, **{key: values[key] for key in stored_as_given})
    db.session.add(sp)
    db.session.flush()
    app.launch_url = launch_path(tenant.slug, sp.id)
    record_audit(tenant_id=tenant.id, actor=actor, action="app.create", target=app, now=now, client=client,
                 changes={"name": settings.name, "protocol": PROTOCOL_SAML, "entity_id": settings.entity_id})
    return RegisteredSp(app=app, sp=sp)


def find(tenant, entity_id):
    """The SP of this tenant with that entity ID (with its app), or None (never another tenant's). From the
    per-process copies of idp.platform.config_cache, dropped at any change of the tenant's SPs, apps or groups."""
    if not entity_id or not isinstance(entity_id, str) or len(entity_id) > 1024:
        return None
    return config_cache.registration(tenant, SamlServiceProvider, SamlServiceProvider.entity_id, entity_id)


def get(tenant, sp_id):
    return db.session.scalar(select(SamlServiceProvider).where(
        SamlServiceProvider.tenant_id == tenant.id, SamlServiceProvider.id == sp_id))


def acs_for(sp, url=None, index=None):
    """The registered ACS URL the request names (by URL or index), the default one when it names none,
    or None when it names one that is not registered (SAML Core 3.4.1, Profiles 4.1.4.1)."""
    endpoints = sp.acs_list
    if url:
        return url if any(e["url"] == url for e in endpoints) else None
    if index is not None:
        return next((e["url"] for e in endpoints if str(e["index"]) == str(index)), None)
    return next(e["url"] for e in endpoints if e["default"])


def json_attribute_map(text):
    """The --attribute-map option: a JSON object {our key: their attribute name}."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ValidationError({"attribute_map": [_l("属性の対応付けが正しくありません。")]})
    return value


def acs_endpoints(acs_urls):
    """The stored ACS list of `register` (first is default when none is marked)."""
    return _acs_endpoints(acs_urls)


def registration_errors(tenant, *, acs_urls, sp=None, **values):
    """{field: [messages]} of `register`'s rules (other values as `_errors` takes them); for an edit
    of `sp` its own entity ID is not a duplicate."""
    errors = _errors(tenant, endpoints=_acs_endpoints(acs_urls), **values)
    if sp is not None and values["entity_id"] == sp.entity_id:
        errors["entity_id"] = text_errors(values["entity_id"], required=True, max_length=1024)
    return errors
