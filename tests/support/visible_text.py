"""The text a person sees on a page: text nodes only (no tags, attribute values, scripts or styles)."""
from html.parser import HTMLParser


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self._hidden = [], 0

    def handle_starttag(self, tag, attrs):
        self._hidden += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._hidden -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible(html):
    """The page's text nodes, one per line."""
    parser = _Text()
    parser.feed(html)
    return "\n".join(parser.parts)
