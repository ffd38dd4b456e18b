"""The schema of a preset file (idp/catalog/presets/<id>.toml, docs/catalog.md): pydantic models of its
tables, then the checks across them (placeholders, one protocol table). `parse_preset(data, file_name)`
returns a `Preset` or raises `CatalogError` naming the file and the field:
`catalog preset slack.toml: saml.acs_urls: at least one ACS URL is required`."""
import re
from typing import Optional

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from idp.saml.registry import ATTRIBUTE_KEYS, ATTRIBUTE_PRESETS, NAMEID_FORMATS, SIGN_CHOICES

# The catalog's groups, in the picker's order, with their labels (shown as is: data, like the presets).
CATEGORIES = {
    "communication": {"ja": "コミュニケーション", "en": "Communication"},
    "productivity": {"ja": "業務効率化", "en": "Productivity"},
    "storage": {"ja": "ファイル共有・ストレージ", "en": "File sharing and storage"},
    "developer": {"ja": "開発", "en": "Developer tools"},
    "sales": {"ja": "営業・マーケティング", "en": "Sales and marketing"},
    "support": {"ja": "カスタマーサポート", "en": "Customer support"},
    "hr": {"ja": "人事・労務", "en": "HR"},
    "accounting": {"ja": "会計・経理", "en": "Accounting"},
    "infrastructure": {"ja": "インフラ・クラウド", "en": "Infrastructure and cloud"},
}
PROTOCOLS = ("saml", "oidc")
ID_RE = re.compile(r"[a-z0-9-]+")
KEY_RE = re.compile(r"[a-z][a-z0-9_]*")
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
# Our values a step may name (idp.catalog.steps fills them), besides the inputs' keys.
OUR_VALUES = ("issuer", "discovery_url", "client_id", "client_secret_note", "saml_entity_id", "sso_url", "slo_url",
              "metadata_url", "certificate_url", "certificate_sha256", "name")
MAX_INPUTS = 3


class CatalogError(Exception):
    """A preset file that cannot be used; the message names the file and the field."""


def _one_of(value, choices, what):
    if value not in choices:
        raise ValueError(f"{value!r} is not a known {what} (one of: {', '.join(choices)})")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Input(_Strict):
    """A value the admin types when adding the service (its key is a placeholder of the templates)."""

    key: str
    label_ja: str
    label_en: str
    pattern: str
    example: str
    help_ja: str = ""
    help_en: str = ""

    @field_validator("key")
    @classmethod
    def _key(cls, value):
        if not KEY_RE.fullmatch(value) or len(value) > 32:
            raise ValueError(f"{value!r} must be [a-z][a-z0-9_]* (at most 32 characters)")
        if value in OUR_VALUES:
            raise ValueError(f"{value!r} is the name of one of our values; choose another key")
        return value

    @field_validator("label_ja", "label_en")
    @classmethod
    def _label(cls, value):
        if not value:
            raise ValueError("a label is required")
        return value

    @field_validator("pattern")
    @classmethod
    def _pattern(cls, value):
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Saml(_Strict):
    """The SP's side as the vendor documents it (templates may use the inputs' keys)."""

    entity_id: str
    acs_urls: list[str]
    slo_url: str = ""
    nameid_format: str = "email"
    sign: str = "both"
    attribute_preset: str = "basic"
    attribute_map: dict[str, str] = {}
    relay_state: str = ""
    sp_metadata_url: str = ""

    @field_validator("entity_id")
    @classmethod
    def _entity_id(cls, value):
        if not value:
            raise ValueError("the SP's entity ID is required")
        return value

    @field_validator("acs_urls")
    @classmethod
    def _acs_urls(cls, value):
        if not value:
            raise ValueError("at least one ACS URL is required")
        return value

    @field_validator("nameid_format")
    @classmethod
    def _nameid_format(cls, value):
        return _one_of(value, NAMEID_FORMATS, "NameID format")

    @field_validator("sign")
    @classmethod
    def _sign(cls, value):
        return _one_of(value, SIGN_CHOICES, "signing choice")

    @field_validator("attribute_preset")
    @classmethod
    def _attribute_preset(cls, value):
        return _one_of(value, ATTRIBUTE_PRESETS, "attribute preset")

    @field_validator("attribute_map")
    @classmethod
    def _attribute_map(cls, value):
        for key, name in value.items():
            _one_of(key, ATTRIBUTE_KEYS, "attribute key")
            if not name or len(name) > 256:
                raise ValueError(f"the attribute name of {key!r} must be 1 to 256 characters")
        return value


class Oidc(_Strict):
    """The client's side as the vendor documents it (templates may use the inputs' keys)."""

    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = []
    initiate_login_uri: str = ""
    public: bool = False

    @field_validator("redirect_uris")
    @classmethod
    def _redirect_uris(cls, value):
        if not value:
            raise ValueError("at least one redirect URI is required")
        return value


class Steps(_Strict):
    """What the admin does in the service's admin screen, in order, in both languages."""

    ja: list[str]
    en: list[str]

    @field_validator("ja", "en")
    @classmethod
    def _not_empty(cls, value):
        if not value or not all(value):
            raise ValueError("at least one step is required, and no step may be empty")
        return value


class Preset(_Strict):
    """One service of the catalog (a preset file, checked)."""

    id: str
    name: str
    name_ja: str = ""
    category: str
    protocol: str
    brand_color: str
    initials: str
    sources: list[str]
    launch_url: str = ""
    plan_ja: str = ""
    plan_en: str = ""
    unsourced_ja: str = ""
    unsourced_en: str = ""
    inputs: list[Input] = []
    saml: Optional[Saml] = None
    oidc: Optional[Oidc] = None
    steps: Steps

    @field_validator("id")
    @classmethod
    def _id(cls, value):
        if not ID_RE.fullmatch(value) or len(value) > 64:
            raise ValueError(f"{value!r} must be lowercase [a-z0-9-]+ (at most 64 characters)")
        return value

    @field_validator("name")
    @classmethod
    def _name(cls, value):
        if not value or len(value) > 200:
            raise ValueError("the service's name is required (at most 200 characters)")
        return value

    @field_validator("category")
    @classmethod
    def _category(cls, value):
        return _one_of(value, tuple(CATEGORIES), "category")

    @field_validator("protocol")
    @classmethod
    def _protocol(cls, value):
        return _one_of(value, PROTOCOLS, "protocol")

    @field_validator("brand_color")
    @classmethod
    def _brand_color(cls, value):
        if not COLOR_RE.fullmatch(value):
            raise ValueError(f"{value!r} is not a colour #RRGGBB")
        return value

    @field_validator("initials")
    @classmethod
    def _initials(cls, value):
        if not 1 <= len(value) <= 2:
            raise ValueError("1 or 2 characters are drawn on the icon")
        return value

    @field_validator("sources")
    @classmethod
    def _sources(cls, value):
        if not value:
            raise ValueError("at least one source (the vendor's documentation) is required")
        for url in value:
            if not url.startswith("https://") or len(url) < 12:
                raise ValueError(f"{url!r} is not an https URL")
        return value

    @field_validator("inputs")
    @classmethod
    def _inputs(cls, value):
        if len(value) > MAX_INPUTS:
            raise ValueError(f"at most {MAX_INPUTS} inputs")
        keys = [item.key for item in value]
        if len(set(keys)) != len(keys):
            raise ValueError("two inputs have the same key")
        return value

    @property
    def settings(self):
        """The [saml] or [oidc] table."""
        return self.saml if self.protocol == "saml" else self.oidc

    def display_name(self, lang):
        return self.name_ja if lang == "ja" and self.name_ja else self.name

    def text(self, field, lang):
        """A ja/en field (label, plan, unsourced) in `lang` ("ja" or else English)."""
        return getattr(self, f"{field}_{'ja' if lang == 'ja' else 'en'}")


def placeholders(template):
    """The names between braces in `template`; ValueError for a brace that is not a {name}."""
    names = PLACEHOLDER_RE.findall(template)
    if "{" in PLACEHOLDER_RE.sub("", template) or "}" in PLACEHOLDER_RE.sub("", template):
        raise ValueError("unbalanced brace (write placeholders as {name})")
    return names


def render(template, values):
    """`template` with each {name} replaced by values[name] (placeholders() checked the names)."""
    return PLACEHOLDER_RE.sub(lambda match: str(values[match.group(1)]), template)


def _templates(preset):
    """(field path, template, must be an https URL) of every template that may use the inputs' keys."""
    found = [("launch_url", preset.launch_url, True)]
    if preset.saml is not None:
        saml = preset.saml
        found += [("saml.entity_id", saml.entity_id, False), ("saml.slo_url", saml.slo_url, True),
                  ("saml.relay_state", saml.relay_state, False), ("saml.sp_metadata_url", saml.sp_metadata_url, True)]
        found += [(f"saml.acs_urls[{i}]", url, True) for i, url in enumerate(saml.acs_urls)]
    if preset.oidc is not None:
        oidc = preset.oidc
        found += [("oidc.initiate_login_uri", oidc.initiate_login_uri, True)]
        found += [(f"oidc.redirect_uris[{i}]", url, True) for i, url in enumerate(oidc.redirect_uris)]
        found += [(f"oidc.post_logout_redirect_uris[{i}]", url, True)
                  for i, url in enumerate(oidc.post_logout_redirect_uris)]
    return found


def _template_problems(preset, keys):
    problems = []
    examples = {item.key: item.example for item in preset.inputs}
    for path, template, is_url in _templates(preset):
        try:
            unknown = [name for name in placeholders(template) if name not in keys]
        except ValueError as exc:
            problems.append((path, str(exc)))
            continue
        if unknown:
            problems.append((path, f"unknown placeholder {{{unknown[0]}}} (templates may use only the inputs' keys: "
                                   f"{', '.join(keys) or 'none'})"))
        elif is_url and template and not render(template, examples).startswith("https://"):
            problems.append((path, "must be an https URL"))
    return problems


def _step_problems(preset, keys):
    problems = []
    allowed = set(keys) | set(OUR_VALUES)
    for lang in ("ja", "en"):
        for index, line in enumerate(getattr(preset.steps, lang)):
            try:
                unknown = [name for name in placeholders(line) if name not in allowed]
            except ValueError as exc:
                problems.append((f"steps.{lang}[{index}]", str(exc)))
                continue
            if unknown:
                problems.append((f"steps.{lang}[{index}]", f"unknown placeholder {{{unknown[0]}}}"))
    if len(preset.steps.ja) != len(preset.steps.en):
        problems.append(("steps", f"ja has {len(preset.steps.ja)} steps, en has {len(preset.steps.en)}: the lists "
                                  "must be of equal length"))
    return problems


def _cross_problems(preset, file_id):
    """(field path, message) of what no single field shows."""
    problems = []
    if preset.id != file_id:
        problems.append(("id", f"{preset.id!r} must equal the file name {file_id!r}"))
    tables = [name for name in PROTOCOLS if getattr(preset, name) is not None]
    if tables != [preset.protocol]:
        problems.append((preset.protocol, f"exactly one of [saml] / [oidc] is required, the one of protocol = "
                                          f"{preset.protocol!r} (found: {', '.join(tables) or 'none'})"))
    for index, item in enumerate(preset.inputs):
        if not re.fullmatch(item.pattern, item.example):
            problems.append((f"inputs[{index}].example", f"{item.example!r} does not match the pattern"))
    if preset.saml is not None and preset.saml.slo_url and not preset.saml.sp_metadata_url:
        problems.append(("saml.slo_url", "single logout needs the SP's signing certificate, which only its metadata "
                                         "(sp_metadata_url) can give: leave slo_url empty"))
    keys = [item.key for item in preset.inputs]
    return problems + _template_problems(preset, keys) + _step_problems(preset, keys)


def _path(location):
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(file)"


def _message(error):
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    return error["msg"].removeprefix("Value error, ")


def parse_preset(data, file_name):
    """The checked Preset of a file's parsed TOML `data`; CatalogError (one line per problem) otherwise."""
    file_id = file_name.removesuffix(".toml")
    try:
        preset = Preset.model_validate(data)
    except ValidationError as exc:
        problems = [(_path(error["loc"]), _message(error)) for error in exc.errors()]
    else:
        problems = _cross_problems(preset, file_id)
    if not ID_RE.fullmatch(file_id):
        problems.insert(0, ("(file)", "the file name must be <id>.toml with id lowercase [a-z0-9-]+"))
    if problems:
        raise CatalogError("\n".join(f"catalog preset {file_name}: {path}: {message}" for path, message in problems))
    return preset
