"""The app forms: one class per protocol, shared by create and edit (CSRF through Flask-WTF).

The forms only turn the submitted strings into `idp.console.apps` field values; every rule is in
the services (the same as `idp app add-oidc` / `add-saml`)."""
import json

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectMultipleField, StringField, TextAreaField

from idp.console.apps import OidcFields, SamlFields
from idp.platform.errors import ValidationError
from idp.platform.validation import parse_ids, parse_number
from idp.saml.metadata_import import MAX_METADATA_BYTES
from idp.saml.registry import ATTRIBUTE_KEYS, normalize_certificate


def _lines(text):
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _pem(certificate):
    """metadata's bare base64 as PEM, as the field shows certificates (left as it is if it is none)."""
    try:
        return normalize_certificate(certificate)
    except (ValueError, TypeError):
        return certificate


def _number(text):
    return parse_number((text or "").strip(), maximum=999_999)


class _TileForm(FlaskForm):
    """What every app has: name, portal tile, groups allowed."""

    name = StringField()
    icon = StringField()
    color = StringField(default="")
    groups = SelectMultipleField(validate_choice=False)

    def _common(self):
        group_ids = parse_ids([str(v) for v in self.groups.data or []])
        if group_ids is None:  # a number larger than any id: no group of the tenant (as idp.console.apps says)
            raise ValidationError({"groups": [_l("グループが見つかりません。")]})
        return {"name": self.name.data or "", "icon": self.icon.data or "", "color": self.color.data or "",
                "group_ids": group_ids}

    @staticmethod
    def _data_of(fields):
        return {"name": fields.name, "icon": fields.icon, "color": fields.color,
                "groups": [str(i) for i in fields.group_ids]}


class OidcAppForm(_TileForm):
    launch_url = StringField()
    redirect_uris = TextAreaField()
    post_logout_redirect_uris = TextAreaField()
    backchannel_logout_uri = StringField()
    client_type = StringField(default="confidential")
    id_token_alg = StringField(default="RS256")
    access_token_format = StringField(default="opaque")
    allow_refresh = BooleanField(default=True)
    require_dpop = BooleanField(default=False)
    require_par = BooleanField(default=False)
    api_client = BooleanField(default=False)
    jwks = TextAreaField()
    access_token_minutes = StringField(default="60")
    id_token_minutes = StringField(default="60")
    refresh_token_days = StringField(default="30")

    @classmethod
    def of(cls, fields):
        """The edit form filled with an app's values (a POST's own values win)."""
        return cls(data={**cls._data_of(fields), "launch_url": fields.launch_url,
                         "redirect_uris": "\n".join(fields.redirect_uris),
                         "post_logout_redirect_uris": "\n".join(fields.post_logout_redirect_uris),
                         "backchannel_logout_uri": fields.backchannel_logout_uri,
                         "client_type": "public" if fields.public else "confidential",
                         "id_token_alg": fields.id_token_alg, "access_token_format": fields.access_token_format,
                         "allow_refresh": fields.allow_refresh, "jwks": fields.jwks,
                         "require_dpop": fields.require_dpop, "require_par": fields.require_par,
                         "api_client": fields.api_client,
                         "access_token_minutes": str(fields.access_token_minutes),
                         "id_token_minutes": str(fields.id_token_minutes),
                         "refresh_token_days": str(fields.refresh_token_days)})

    def to_fields(self):
        return OidcFields(
            **self._common(), launch_url=self.launch_url.data or "",
            redirect_uris=_lines(self.redirect_uris.data), post_logout_redirect_uris=_lines(
                self.post_logout_redirect_uris.data),
            backchannel_logout_uri=self.backchannel_logout_uri.data or "", public=self.client_type.data == "public",
            id_token_alg=self.id_token_alg.data or "", access_token_format=self.access_token_format.data or "",
            allow_refresh=bool(self.allow_refresh.data), jwks=self.jwks.data or "",
            require_dpop=bool(self.require_dpop.data), require_par=bool(self.require_par.data),
            api_client=bool(self.api_client.data),
            access_token_minutes=_number(self.access_token_minutes.data),
            id_token_minutes=_number(self.id_token_minutes.data),
            refresh_token_days=_number(self.refresh_token_days.data))


class SamlAppForm(_TileForm):
    metadata = FileField()
    metadata_url = StringField()  # where the SP publishes its metadata ("取得" and the refresh read it)
    entity_id = StringField()
    acs_urls = TextAreaField()
    acs_indexes = HiddenField()  # JSON [[url, index], …] of the metadata 「取得」 read (its ACS indexes)
    slo_url = StringField()
    slo_binding = StringField(default="redirect")
    signing_cert = TextAreaField()
    encryption_cert = TextAreaField()
    encryption_algorithm = StringField(default="aes256-gcm")
    requests_signed = BooleanField()
    nameid_format = StringField(default="email")
    sign = StringField(default="both")
    attribute_preset = StringField(default="basic")
    relay_state = StringField()

    # attribute names overriding the preset, one field per key of saml_registry.ATTRIBUTE_KEYS
    attr_email = StringField()
    attr_name = StringField()
    attr_groups = StringField()
    attr_subject = StringField()
    attr_department = StringField()
    attr_organization = StringField()
    attr_phone = StringField()

    @classmethod
    def of(cls, fields):
        return cls(data={**cls._data_of(fields), "entity_id": fields.entity_id, "acs_urls": "\n".join(fields.acs_urls),
                         "slo_url": fields.slo_url, "slo_binding": fields.slo_binding,
                         "signing_cert": fields.signing_cert,
                         "encryption_cert": fields.encryption_cert, "encryption_algorithm": fields.encryption_algorithm,
                         "requests_signed": fields.requests_signed,
                         "nameid_format": fields.nameid_format, "sign": fields.sign,
                         "attribute_preset": fields.attribute_preset, "relay_state": fields.relay_state,
                         "metadata_url": fields.metadata_url,
                         **{f"attr_{key}": value for key, value in fields.attribute_map.items()}})

    def attribute_map(self):
        values = {key: (getattr(self, f"attr_{key}").data or "").strip() for key in ATTRIBUTE_KEYS}
        return {key: value for key, value in values.items() if value}

    def metadata_bytes(self):
        """The uploaded metadata file (at most one byte over the limit, so the parser can refuse it)."""
        upload = self.metadata.data
        if not upload or not getattr(upload, "filename", ""):
            return None
        return upload.read(MAX_METADATA_BYTES + 1) or None

    def fill_from_metadata(self, values):
        """Show what an SP's metadata (`parse_sp_metadata`'s dict) sets in the connection fields, the default
        ACS first (the first line is the default); the NameID format and attributes stay as chosen."""
        acs = sorted(values["acs_urls"], key=lambda entry: not entry[2])
        self.entity_id.data, self.acs_urls.data = values["entity_id"], "\n".join(entry[0] for entry in acs)
        self.acs_indexes.data = json.dumps([[url, index] for url, index, _default in acs])
        self.slo_url.data, self.slo_binding.data = values["slo_url"], values["slo_binding"]
        self.signing_cert.data = _pem(values["signing_cert"])
        self.encryption_cert.data = _pem(values["encryption_cert"])
        self.requests_signed.data = values["requests_signed"]

    def to_fields(self):
        return SamlFields(
            **self._common(), entity_id=self.entity_id.data or "", acs_urls=_lines(self.acs_urls.data),
            acs_indexes=_acs_indexes(self.acs_indexes.data),
            slo_url=self.slo_url.data or "", slo_binding=self.slo_binding.data or "redirect",
            signing_cert=self.signing_cert.data or "",
            encryption_cert=self.encryption_cert.data or "", encryption_algorithm=self.encryption_algorithm.data or "",
            requests_signed=bool(self.requests_signed.data),
            nameid_format=self.nameid_format.data or "", sign=self.sign.data or "",
            attribute_preset=self.attribute_preset.data or "", attribute_map=self.attribute_map(),
            relay_state=(self.relay_state.data or "").strip(),
            metadata_url=(self.metadata_url.data or "").strip())


def _acs_indexes(text):
    """[(url, index)] of the hidden field, or [] when it is not what fill_from_metadata wrote (it comes back
    from the browser: an index must be an unsignedShort, as in SAML metadata)."""
    try:
        pairs = json.loads(text or "[]")
        return [(url, int(index)) for url, index in pairs
                if isinstance(url, str) and str(index).isdigit() and int(index) <= 65535]
    except (ValueError, TypeError):
        return []
