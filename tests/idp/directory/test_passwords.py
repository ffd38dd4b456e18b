"""Password policy (every rule named in its message) and argon2id hashing."""
import pytest

from idp.directory.passwords import hash_password, policy_errors, rules, verify_password

OK = "Sakura-Blossom-2026"


@pytest.mark.parametrize("password, confirm, email, expected", [
    (OK, OK, "taro@example.com", []),
    ("Kx7#mP2q", "Kx7#mP2q", None, ["パスワードは10文字以上にしてください。"]),
    ("abcdefghij1", "abcdefghij1", None, ["3種類以上"]),
    ("ABCDEFGHIJ-", "ABCDEFGHIJ-", None, ["3種類以上"]),
    ("Abcdefghij1", "Abcdefghij1", None, []),          # upper + lower + digit
    ("abcdefghij1!", "abcdefghij1!", None, []),        # lower + digit + symbol
    ("Ａｂｃｄｅｆｇｈ１２！", "Ａｂｃｄｅｆｇｈ１２！", None, ["半角英数字と記号のみ", "3種類以上"]),
    ("Sakura Blossom 2026", "Sakura Blossom 2026", None, ["半角英数字と記号のみ"]),
    (OK, OK + "x", None, ["確認用のパスワードが一致しません。"]),
    ("Taro.Yamada-2026", "Taro.Yamada-2026", "taro.yamada@example.com", ["@より前の部分（taro.yamada）"]),
    ("Abc-Secret-2026", "Abc-Secret-2026", "ab@example.com", []),  # a local part under 3 characters: no rule
    ("Password1234", "Password1234", None, ["よく使われているパスワード"]),
    ("1Qaz2wsx3edc", "1Qaz2wsx3edc", None, ["よく使われているパスワード"]),
])
def test_policy(app, password, confirm, email, expected):
    with app.test_request_context():
        errors = [str(e) for e in policy_errors(password, confirm, email)]
    assert len(errors) == len(expected), errors
    for fragment, message in zip(expected, errors):
        assert fragment in message


@pytest.mark.parametrize("email, last", [
    ("Hanako@example.com", "メールアドレスの@より前の部分（hanako）を含まない"),
    ("ab@example.com", "よく使われているパスワード（Password1234 など）ではない"),  # no rule for a short one
])
def test_rules_list_what_the_policy_checks(app, email, last):
    with app.test_request_context():
        listed = [str(rule) for rule in rules(email)]
    assert listed[0] == "10文字以上" and listed[-1] == last
    assert len(listed) == (5 if "hanako" in last else 4)


def test_policy_messages_in_english(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        errors = [str(e) for e in policy_errors("short", "short")]
    assert errors and all(e.isascii() for e in errors), errors


def test_hash_is_argon2id_with_owasp_parameters():
    hashed = hash_password(OK)
    assert hashed.startswith("$argon2id$") and "m=19456,t=2,p=1" in hashed
    assert verify_password(hashed, OK) == (True, False)
    assert verify_password(hashed, OK + "x") == (False, False)
    assert verify_password(None, OK) == (False, False)
    assert verify_password("not-a-hash", OK) == (False, False)
