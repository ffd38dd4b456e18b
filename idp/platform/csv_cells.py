"""CSV cells that spreadsheet programs show as text instead of running them as formulas.

A cell starting with = + - @ (or a tab/CR) is a formula to Excel ("CSV injection", OWASP): a login
ID typed on the login form or a name could then run in the admin's spreadsheet. Exports prefix such
cells with an apostrophe; the account import removes that prefix again, so export -> import
round-trips.
"""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value):
    """The cell as a spreadsheet shows it: a formula-looking value prefixed with an apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def formula_cell_value(text):
    """The value an exported cell stood for (the apostrophe of `text_cell` removed)."""
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text
