"""The numbers of forms and query strings: ASCII digits within a bound, else None (never an int() error);
phone numbers as people type them."""
import pytest

from idp.platform.validation import MAX_ID, clean_phone, parse_ids, parse_number, phone_errors


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


@pytest.mark.parametrize("typed, stored", [
    ("09012345678", "09012345678"),
    ("090-1234-5678", "09012345678"),
    ("０９０－１２３４－５６７８", "09012345678"),  # full-width digits and hyphen
    ("０９０ １２３４ ５６７８", "09012345678"),  # full-width digits, ideographic spaces
    ("090ー1234ー5678", "09012345678"),  # the IME's prolonged sound mark for "-"
    (" 090.1234.5678 ", "09012345678"),
    ("9012345678", "09012345678"),  # the 0 Excel dropped
    ("7012345678", "07012345678"),
    ("+81 90-1234-5678", "09012345678"),
    ("+81 (0)90 1234 5678", "09012345678"),
    ("03(1234)5678", "0312345678"),
    ("312345678", "312345678"),  # a landline without its 0 is not guessed
    ("+1 415 555 0123", "+14155550123"),
    ("abc", "abc"),
    ("", ""),
    (None, ""),
])
def test_clean_phone(typed, stored):
    assert clean_phone(typed) == stored


@pytest.mark.parametrize("typed, mobile, fragment", [
    ("090-1234-5678", True, None),
    ("9012345678", True, None),
    ("", True, None),
    ("03-1234-5678", False, None),
    ("090-1234-5678", False, None),
    ("0120-123-456", False, None),
    ("03-1234-5678", True, "070・080・090で始まる11桁"),  # a landline in the mobile field
    ("090-1234-567", True, "070・080・090で始まる11桁"),  # a digit short
    ("090-1234-56789", True, "070・080・090で始まる11桁"),
    ("+14155550123", True, "070・080・090で始まる11桁"),
    ("携帯", True, "070・080・090で始まる11桁"),
    ("03-1234", False, "市外局番から10〜15桁"),
    ("+14155550123", False, "市外局番から10〜15桁"),
    ("なし", False, "市外局番から10〜15桁"),
])
def test_phone_errors(app, typed, mobile, fragment):
    with app.test_request_context():
        errors = [str(message) for message in phone_errors(typed, mobile=mobile)]
    assert errors == [] if fragment is None else (len(errors) == 1 and fragment in errors[0])
