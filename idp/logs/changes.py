"""An audit event as the log shows it: who, which object, and its changes as (field, text) lines.

Changes of an edit read `前 → 後`; values become words (idp/logs/labels.py, はい/いいえ, dates in Japan
time, "（なし）" for nothing). Ids of the tenant's groups and apps become their names, read when a row names
one (one query per kind and page or download); a deleted row reads "#id（削除済み）". A plain value left
empty (a reset request that nothing blocked) is not shown.
"""
import hashlib
import json
import re
from datetime import datetime, timezone

from flask_babel import gettext as _
from sqlalchemy import select

from idp.logs.labels import ACTORS, CHANGE_PAIRS, FIELDS, NOTHING, TARGET_TYPES, VALUES, YES_NO, label
from idp.models import App, Group
from idp.platform.clock import BUSINESS_TZ
from idp.platform.extensions import db

ID_FIELDS = {"group": Group, "apps": App, "app": App}
SECONDS_PER_UNIT = {"access_token_seconds": 60, "id_token_seconds": 60, "refresh_token_seconds": 86400}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?([+-]\d{2}:\d{2})?")


class TenantNames:
    """The names of a tenant's groups and apps by id, each kind read once, when first asked for."""

    def __init__(self, tenant_id):
        self.tenant_id = tenant_id
        self._names = {}

    def name(self, model, value):
        if model not in self._names:
            self._names[model] = dict(db.session.execute(
                select(model.id, model.name).where(model.tenant_id == self.tenant_id)).all())
        try:
            found = self._names[model].get(int(value))
        except (TypeError, ValueError):
            found = None
        return found if found is not None else _("#%(id)s（削除済み）", id=value)


def actor_text(event):
    """The acting account's or owner's address, or what acted without one (the CLI, someone not signed in)."""
    return label(ACTORS, event.actor_type) if event.actor_type in ACTORS else event.actor_label


def target_text(event):
    if event.target_type in TARGET_TYPES:
        return label(TARGET_TYPES, event.target_type)
    return event.target_label or event.target_type


def change_lines(action, changes, names):
    """[(field, text)] of an event's changes in the order they were recorded."""
    if not isinstance(changes, dict):
        return [] if not changes else [("", str(changes))]
    pairs = action in CHANGE_PAIRS
    lines = []
    for key, value in changes.items():
        if pairs and isinstance(value, list) and len(value) == 2:
            text = f"{value_text(key, value[0], names)} → {value_text(key, value[1], names)}"
        elif _empty(value):
            continue
        else:
            text = value_text(key, value, names)
        lines.append((label(FIELDS, key), text))
    return lines


def _empty(value):
    return value is None or (isinstance(value, (str, list, dict)) and not value)


def value_text(key, value, names):
    """One recorded value of field `key` in words."""
    coded = VALUES.get(key, {})
    if isinstance(value, (str, int, bool, type(None))) and value in coded:
        return str(coded[value])
    if _empty(value):
        return str(NOTHING)
    if key in ID_FIELDS:
        return _joined(names.name(ID_FIELDS[key], one) for one in _as_list(value))
    if isinstance(value, bool):
        return str(YES_NO[value])
    if isinstance(value, int) and key in SECONDS_PER_UNIT:
        return str(value // SECONDS_PER_UNIT[key])
    if isinstance(value, dict):
        return " / ".join(f"{label(FIELDS, k)}: {value_text(k, v, names)}" for k, v in value.items() if not _empty(v))
    if isinstance(value, list):
        return _joined(value_text(key, one, names) for one in value)
    if isinstance(value, str):
        return _string_text(key, value)
    return str(value)


def _string_text(key, value):
    if key == "jwks":  # a public key set: its fingerprint, like the certificates' (idp/console/apps.py)
        return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]
    if key in ("acs_endpoints", "attribute_map"):  # stored as JSON text
        decoded = _decoded(value)
        if isinstance(decoded, dict):
            return _joined(f"{ours} → {theirs}" for ours, theirs in decoded.items()) or str(NOTHING)
        if isinstance(decoded, list):
            return _joined(str(e.get("url", "")) if isinstance(e, dict) else str(e) for e in decoded) or str(NOTHING)
    if DATE.fullmatch(value):
        return value.replace("-", "/")
    if DATETIME.fullmatch(value):
        moment = datetime.fromisoformat(value)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # stored times are UTC
        return moment.astimezone(BUSINESS_TZ).strftime("%Y/%m/%d %H:%M")
    if "\n" in value:  # one URI per line
        return _joined(line.strip() for line in value.splitlines() if line.strip())
    return value


def _decoded(text):
    try:
        return json.loads(text)
    except ValueError:
        return text


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _joined(texts):
    return _("、").join(texts)
