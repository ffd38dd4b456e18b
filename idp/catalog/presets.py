"""The catalog's presets: every idp/catalog/presets/<id>.toml, checked by idp.catalog.schema.

`load(folder)` reads and checks a folder (CatalogError on the first bad file, naming it and the field);
`all_presets()` is the packaged folder, loaded once per process (create_app calls it at start-up, so a
broken preset stops the app); `get(preset_id)` is one of them or None."""
import tomllib
from pathlib import Path

from idp.catalog.schema import CATEGORIES, CatalogError, parse_preset

PRESETS_DIR = Path(__file__).resolve().parent / "presets"
__all__ = ("CATEGORIES", "CatalogError", "PRESETS_DIR", "all_presets", "by_category", "get", "load")
_loaded = None


def load(folder=PRESETS_DIR):
    """{id: Preset} of every *.toml in `folder`, ordered by category (CATEGORIES) then name."""
    found = []
    for path in sorted(Path(folder).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise CatalogError(f"catalog preset {path.name}: (file): not valid TOML: {exc}") from None
        found.append(parse_preset(data, path.name))
    order = list(CATEGORIES)
    found.sort(key=lambda preset: (order.index(preset.category), preset.name.casefold()))
    return {preset.id: preset for preset in found}


def all_presets():
    """The packaged presets, read once per process."""
    global _loaded
    if _loaded is None:
        _loaded = load(PRESETS_DIR)
    return _loaded


def get(preset_id):
    """The preset with this id, or None (also for anything that is not a string)."""
    if not isinstance(preset_id, str):
        return None
    return all_presets().get(preset_id)


def by_category(presets=None):
    """[(category id, {"ja": …, "en": …}, [Preset, …])] in CATEGORIES' order, only categories with presets."""
    presets = all_presets() if presets is None else presets
    return [(category, labels, [p for p in presets.values() if p.category == category])
            for category, labels in CATEGORIES.items() if any(p.category == category for p in presets.values())]
