"""A preset's icon: our own small SVG, its initials in white on the brand colour (no vendor logos)."""
from markupsafe import escape

SIZE = 48


def svg(preset):
    """The icon as SVG text (safe to inline: every value is escaped; the name is its accessible label)."""
    font_size = 22 if len(preset.initials) == 1 else 18
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{SIZE}" height="{SIZE}" viewBox="0 0 {SIZE} {SIZE}" '
            f'role="img" aria-label="{escape(preset.name)}" class="catalog-icon">'
            f'<rect width="{SIZE}" height="{SIZE}" rx="10" fill="{escape(preset.brand_color)}"/>'
            f'<text x="50%" y="50%" dy=".35em" text-anchor="middle" fill="#FFFFFF" font-size="{font_size}" '
            f'font-weight="700" font-family="-apple-system, \'Segoe UI\', \'Hiragino Sans\', Meiryo, sans-serif">'
            f'{escape(preset.initials)}</text></svg>')
