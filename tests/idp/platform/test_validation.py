"""The numbers of forms and query strings: ASCII digits within a bound, else None (never an int() error)."""
import pytest

from idp.platform.validation import MAX_ID, parse_ids, parse_number


@pytest.mark.parametrize("text, maximum, expected", [
    ("42", MAX_ID, 42),
    ("0", MAX_ID, 0),
    ("007", MAX_ID, 7),
    ("0" * 40 + "1", MAX_ID, 1),
    (str(MAX_ID), MAX_ID, MAX_ID),
    (str(MAX_ID + 1), MAX_ID, None),
    ("9" * 5000, MAX_ID, None),
    ("100000", 99_999, None),
    ("99999", 99_999, 99_999),
    ("", MAX_ID, None),
    ("-1", MAX_ID, None),
    ("1.5", MAX_ID, None),
    (" 1", MAX_ID, None),
    ("²", MAX_ID, None),
    ("١٢", MAX_ID, None),
    ("1\x00", MAX_ID, None),
    (None, MAX_ID, None),
])
def test_parse_number(text, maximum, expected):
    assert parse_number(text, maximum=maximum) == expected


@pytest.mark.parametrize("values, expected", [
    ([], []),
    (["3", "1"], [3, 1]),
    (["1", "on", "", "²"], [1]),
    (["1", str(MAX_ID + 1)], None),
    (["9" * 5000], None),
])
def test_parse_ids(values, expected):
    assert parse_ids(values) == expected
