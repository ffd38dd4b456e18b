"""docs/catalog.md lists every preset as the folder has it (its table is made by idp.catalog.doc_table)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_the_docs_table_is_the_generated_one():
    with open(os.path.join(ROOT, "docs", "catalog.md"), encoding="utf-8") as fh:
        text = fh.read()
    shown = text.split("<!-- presets table: start -->\n", 1)[1].split("<!-- presets table: end -->", 1)[0]
    generated = subprocess.run([sys.executable, "-m", "idp.catalog.doc_table"], cwd=ROOT, capture_output=True,
                               text=True, check=True).stdout
    assert shown.strip() == generated.strip(), "run `.venv/bin/python -m idp.catalog.doc_table` and paste it"
