"""An SP's SAML metadata read from the URL where the SP publishes it, and refreshed from there later.

`fetch_sp_metadata(url)` goes through idp.platform.outbound (the SSRF guard of back-channel logout:
public addresses only unless the IdP itself runs on loopback, no redirects, a deadline, a size
limit) and checks that the answer is an SP's metadata (idp.saml.metadata_import). The URL must be
https; plain http only to a loopback host of a development instance. `refresh_from_url(sp, …)`
re-reads the stored URL and applies what an uploaded metadata file sets in the console (entity ID,
ACS, SLO, certificates, signed requests; the NameID format and attributes stay the admin's), under
the registry's rules and audited as an edit.
"""
import hashlib
import json
import logging
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Tenant
from idp.models.saml import SamlServiceProvider
from idp.platform import outbound
from idp.platform.config import is_loopback_host
from idp.platform.errors import ValidationError
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.saml.metadata_import import encryption_algorithm_of, parse_sp_metadata

log = logging.getLogger(__name__)
FIELD = "metadata_url"
MAX_URL_LENGTH = 2000
MAX_FETCH_BYTES = 1024 * 1024
FETCH_TIMEOUT = 5  # seconds, the whole exchange
# the columns metadata sets (`parse_sp_metadata`'s keys but the NameID format, which the admin chooses)
APPLIED = ("entity_id", "acs_endpoints", "slo_url", "slo_binding", "signing_cert", "encryption_cert",
           "requests_signed", "encryption_algorithm")


def _refuse(message, detail):
    raise ValidationError({FIELD: [message]}, detail=f"SP metadata fetch: {detail}")


def url_errors(url):
    """[messages] for a metadata URL an admin typed ([] when it may be fetched; "" is allowed)."""
    if not url:
        return []
    try:
        scheme, host, _port, _path = outbound.target_of(url)
    except outbound.InvalidTarget:
        scheme = host = None
    allowed = scheme == "https" or (scheme == "http" and is_loopback_host(host) and _private_allowed())
    # no user:password@ (it would be stored and shown), no spaces, a length the column holds
    if not allowed or "@" in urlsplit(url).netloc or len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        return [_l("メタデータのURLが正しくありません（https:// で始まるURLを入力してください）。")]
    return []


def _private_allowed():
    return outbound.private_targets_allowed(current_app.config)


def fetch_sp_metadata(url):
    """The XML text of the SP metadata at `url`; ValidationError({"metadata_url": [message]}) otherwise."""
    url = (url or "").strip()
    errors = url_errors(url) or ([] if url else [_l("メタデータのURLを入力してください。")])
    if errors:
        raise ValidationError({FIELD: errors}, detail="SP metadata fetch: not a usable URL")
    host = outbound.target_of(url)[1]
    try:
        reply = outbound.request("GET", url, allow_private=_private_allowed(), timeout=FETCH_TIMEOUT,
                                 max_bytes=MAX_FETCH_BYTES,
                                 headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"})
    except outbound.PrivateAddress as exc:
        _refuse(_l("このURLのホストは内部ネットワークのアドレスのため、取得できません。"), exc)
    except outbound.Refused as exc:
        _refuse(_l("メタデータのURLのホストが見つかりません。"), exc)
    except outbound.TimedOut as exc:
        _refuse(_l("メタデータの取得が%(seconds)s秒以内に終わりませんでした。", seconds=FETCH_TIMEOUT), exc)
    except outbound.TooLarge as exc:
        _refuse(_l("メタデータが大きすぎます（1 MiBまで）。"), exc)
    except outbound.Unreachable as exc:
        _refuse(_l("メタデータのURLに接続できませんでした。"), exc)
    if 300 <= reply.status < 400:
        _refuse(_l("メタデータのURLが別のURLへ転送しています。転送先のURLを直接入力してください。"),
                f"{host} answered {reply.status} (redirects are not followed)")
    if reply.status != 200:
        _refuse(_l("メタデータを取得できませんでした（HTTP %(status)d）。", status=reply.status),
                f"{host} answered {reply.status}")
    try:
        parse_sp_metadata(reply.body)
    except ValidationError as exc:
        reasons = [str(m) for messages in exc.errors.values() for m in messages]
        raise ValidationError({FIELD: [_l("このURLの内容はSPのSAMLメタデータではありません。"), *reasons]},
                              detail=f"SP metadata fetch: {host}: {exc.detail}") from exc
    log.info("SP metadata fetched from %s (%d bytes)", host, len(reply.body))
    return reply.body.decode("utf-8", "replace")


def _audited(sp):
    values = {key: getattr(sp, key) for key in APPLIED}
    for key in ("signing_cert", "encryption_cert"):  # fingerprints, as the console audits them
        if values[key]:
            values[key] = "sha256:" + hashlib.sha256(values[key].encode()).hexdigest()[:16]
    return values


def apply_metadata(sp, xml, *, now, actor, client=NO_CLIENT):
    """Set what `xml` (an SP's metadata) says on `sp` under the registry's rules (ValidationError with
    their field errors otherwise); records `app.update` with the changes. -> the changed field names."""
    values = parse_sp_metadata(xml)
    algorithm = encryption_algorithm_of(xml) or sp.encryption_algorithm
    tenant = db.session.get(Tenant, sp.tenant_id)
    errors = saml_registry.registration_errors(
        tenant, sp=sp, acs_urls=values["acs_urls"], name=sp.app.name, entity_id=values["entity_id"].strip(),
        slo_url=values["slo_url"].strip(), slo_binding=values["slo_binding"], signing_cert=values["signing_cert"],
        encryption_cert=values["encryption_cert"], nameid_format=sp.nameid_format, sign=sp.sign,
        attribute_preset=sp.attribute_preset, attribute_map=sp.attribute_names, relay_state=sp.relay_state,
        requests_signed=values["requests_signed"], encryption_algorithm=algorithm)
    errors = {key: messages for key, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors, detail=f"SP metadata of sp {sp.id} breaks the registry's rules: {sorted(errors)}")
    before = _audited(sp)
    sp.entity_id, sp.slo_url, sp.slo_binding = values["entity_id"].strip(), values["slo_url"].strip(), values[
        "slo_binding"]
    sp.acs_endpoints = json.dumps(saml_registry.acs_endpoints(values["acs_urls"]))
    sp.signing_cert = saml_registry.normalize_certificate(values["signing_cert"])
    sp.encryption_cert = saml_registry.normalize_certificate(values["encryption_cert"])
    sp.requests_signed, sp.encryption_algorithm = bool(values["requests_signed"]), algorithm
    after = _audited(sp)
    changes = {key: [before[key], value] for key, value in after.items() if before[key] != value}
    if changes:
        sp.updated_at = sp.app.updated_at = now
    record_audit(tenant_id=sp.tenant_id, actor=actor, action="app.update", target=sp.app, now=now,
                 changes=changes, client=client)
    return sorted(changes)


def stored_sp(tenant, *, app_id=None, entity_id=None):
    """The tenant's SP (the database row, to change) by its app's id or its entity ID, or None."""
    key = SamlServiceProvider.app_id == app_id if app_id is not None else SamlServiceProvider.entity_id == entity_id
    return db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.tenant_id == tenant.id, key))


def refresh_from_url(sp, *, now, actor, client=NO_CLIENT):
    """Re-read the SP's metadata from its stored URL and apply it (see `apply_metadata`)."""
    if not sp.metadata_url:
        raise ValidationError({FIELD: [_l("メタデータのURLが登録されていません。")]},
                              detail=f"sp {sp.id} has no metadata URL")
    return apply_metadata(sp, fetch_sp_metadata(sp.metadata_url), now=now, actor=actor, client=client)
