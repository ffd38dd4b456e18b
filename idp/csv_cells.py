"""CSV cells that spreadsheet programs show as text instead of running them as formulas.

A cell starting with = + - @ (or a tab/CR) is a formula to Excel ("CSV injection", OWASP): a login
ID typed on the login form or a name could then run in the admin's spreadsheet. Exports prefix such
cells with an apostrophe; the account import removes that prefix again, so export -> import
round-trips.
"""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def guard(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def unguard(text):
    return text[1:] if text.startswith("'") and text[1:].startswith(FORMULA_START) else text
