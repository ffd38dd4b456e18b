"""The table of presets in docs/catalog.md, made from the folder:
`.venv/bin/python -m idp.catalog.doc_table` prints it (paste it between the markers of docs/catalog.md)."""
from idp.catalog import presets


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(loaded):
    """A Markdown table: id, name, protocol, inputs (key: English label), sources (links)."""
    lines = ["| id | name | protocol | inputs | sources |", "| --- | --- | --- | --- | --- |"]
    for preset in loaded.values():
        name = preset.name + (f" ({preset.name_ja})" if preset.name_ja else "")
        inputs = ", ".join(f"`{item.key}` ({item.label_en})" for item in preset.inputs) or "–"
        sources = " ".join(f"[{n}]({url})" for n, url in enumerate(preset.sources, start=1))
        lines.append(f"| `{preset.id}` | {_cell(name)} | {preset.protocol.upper()} | {_cell(inputs)} | {sources} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown_table(presets.load()))
