"""Plain values of the SaaS catalog pages (issue 17): the picker (presets grouped by category, searched by
name), a preset's form, the registration from the console, and what an app's page shows to set the SaaS
side up (the preset's steps, with our values marked for the copy buttons) and offers for download (the
tenant's current SAML signing certificate, our IdP metadata).

The presets, their steps and their registration are `idp.catalog`'s; this module only shapes them for the
templates in the admin's language ("ja" or "en", given by the view)."""
import re
import unicodedata

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from idp import keys
from idp.catalog import icons, presets, registration, steps
from idp.console.tenant_rows import tenant_rows
from idp.logs.audit import NO_CLIENT
from idp.models import Group
from idp.models.app import PROTOCOL_SAML
from idp.platform.errors import ValidationError
from idp.saml import idp_metadata as saml_idp_metadata

MAX_QUERY = 100  # characters of the picker's search box that count
NOT_COPIED = ("name", "client_secret_note")  # values of the steps that are words, not values to paste


def _text(item, field, lang):
    """An input's `<field>_ja` or `<field>_en` (label, help)."""
    return getattr(item, f"{field}_{'ja' if lang == 'ja' else 'en'}")


def _category_labels(lang):
    """{category: label} in the catalog's order."""
    return {key: labels["ja" if lang == "ja" else "en"] for key, labels in presets.CATEGORIES.items()}


def normalized_query(text):
    """The search box's text as it is compared: NFKC (full-width letters are half-width), case-folded."""
    return unicodedata.normalize("NFKC", (text or "")[:MAX_QUERY]).strip().casefold()


def _search_text(preset):
    """What the search box is compared with: the id and both names."""
    return " ".join(normalized_query(name) for name in (preset.id, preset.name, preset.name_ja) if name)


def _card(preset, lang):
    return {"id": preset.id, "name": preset.display_name(lang), "protocol": preset.protocol,
            "plan": preset.text("plan", lang), "icon": Markup(icons.svg(preset)), "search_text": _search_text(preset)}


def picker(lang, query=""):
    """[{key, label, presets: [card]}] of the categories with a preset matching `query` (by name), in the
    catalog's order; the presets of a category by name."""
    query, labels = normalized_query(query), _category_labels(lang)
    found = [(category, [_card(preset, lang) for preset in listed if query in _search_text(preset)])
             for category, _labels, listed in presets.by_category()]
    return [{"key": category, "label": labels[category], "presets": cards} for category, cards in found if cards]


def preset_form(preset_id, lang):
    """What the preset's form shows, or None for an unknown preset."""
    preset = presets.get(preset_id)
    if preset is None:
        return None
    return {**_card(preset, lang), "sources": list(preset.sources), "unsourced": preset.text("unsourced", lang),
            "category": _category_labels(lang)[preset.category],
            "inputs": [{"key": field.key, "label": _text(field, "label", lang), "help": _text(field, "help", lang),
                        "example": field.example} for field in preset.inputs]}


def register(tenant, preset_id, *, inputs, name, group_ids, now, actor, client=NO_CLIENT):
    """Register the preset for `tenant` with the admin's inputs and groups; -> what `registration.register`
    returns (an OIDC client's secret shown once). ValidationError names the wrong fields."""
    groups = tenant_rows(Group, tenant, group_ids)
    if groups is None:
        raise ValidationError({"groups": [_l("グループが見つかりません。")]})
    return registration.register(tenant, preset_id, dict(inputs), now=now, actor=actor, groups=groups,
                                 name=(name or "").strip() or None, client=client)


def _our_values(tenant, app, lang):
    """Our values the steps may name, which get a copy button (URLs, entity ID, client ID), longest first."""
    values = steps.our_values(app, tenant, lang)
    return sorted({value for key, value in values.items() if value and key not in NOT_COPIED}, key=len, reverse=True)


def _segments(step, pattern):
    """A step as [(is_our_value, text)], our values apart so that the page puts a copy button beside them."""
    parts = pattern.split(step) if pattern else [step]
    return [(index % 2 == 1, text) for index, text in enumerate(parts) if text]


def setup(tenant, app, lang):
    """The setup section of an app made from a preset: {preset, name, steps: [[(is_value, text)]], sources},
    or None when the app has no preset (or its preset is no longer in the catalog)."""
    preset_id = app.preset
    listed = steps.steps_for(app, tenant, lang) if preset_id else None
    if not listed:
        return None
    preset = presets.get(preset_id)
    values = _our_values(tenant, app, lang)
    pattern = re.compile("(" + "|".join(re.escape(v) for v in values) + ")") if values else None
    return {"preset": preset_id, "name": preset.display_name(lang) if preset else preset_id,
            "steps": [_segments(step, pattern) for step in listed],
            "sources": list(preset.sources) if preset else [],
            "unsourced": preset.text("unsourced", lang) if preset else ""}


def offers_downloads(app):
    """SAML apps and apps made from a preset offer the certificate and the metadata for download."""
    return app.protocol == PROTOCOL_SAML or bool(app.preset)


def signing_certificate(tenant, now):
    """The PEM of the certificate the tenant signs SAML messages with now (the key of SAML signatures)."""
    return keys.signing_key(tenant, "RS256", now).certificate


def idp_metadata(tenant, now):
    """Our IdP metadata (unsigned), the document /t/<slug>/saml/metadata serves."""
    return saml_idp_metadata.unsigned_xml(tenant, now)
