"""Every code the events store has a label (idp/logs/labels.py): a new action, login reason or sign-in
method cannot reach the log pages as a raw code. The codes are read from the source (the calls that record
events), not listed by hand."""
import ast
import pathlib

import pytest

from idp.authn import credentials, second_factor
from idp.directory import account_state
from idp.logs import labels
from idp.logs.changes import change_lines
from idp.models import OidcClient, SamlServiceProvider
from idp.oidc import authorization
from idp.saml import sso

ROOT = pathlib.Path(__file__).resolve().parents[3]
SOURCES = sorted(path for package in ("idp", "admin_ui", "protocols") for path in (ROOT / package).rglob("*.py")
                 if "migrations" not in path.parts)


def _trees():
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in SOURCES]


def _calls(tree, name):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if (func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)) == name:
                yield node


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


def _strings(node):
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def _action_shaped(tree):
    """String literals shaped like an action (`thing.verb`) anywhere in a module."""
    return {s for s in _strings(tree) if s.count(".") == 1 and all(part.replace("_", "").isalpha()
                                                                   for part in s.split("."))}


def recorded_actions():
    """Actions passed to record_audit: the literals, and for a computed action (`action=action`) every
    action-shaped literal of the module (where the helper's callers or the choice are)."""
    found = {}
    for path, tree in _trees():
        for call in _calls(tree, "record_audit"):
            value = _keyword(call, "action")
            if isinstance(value, ast.Constant):
                found.setdefault(value.value, path.name)
            elif value is not None:
                shaped = _action_shaped(tree)
                assert shaped, f"{path}: record_audit with a computed action and no action literal in the module"
                found.update({action: path.name for action in shaped})
    return found


def _module_constants(module):
    """The string constants a module defines itself (`NAME = "value"`), not those it imports."""
    tree = ast.parse(pathlib.Path(module.__file__).read_text(encoding="utf-8"))
    return {node.value.value for node in tree.body if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)}


def recorded_reasons():
    """Reasons of record_login: literals, `"reason": …` of the rate limiter's event, the local `reason = …`
    choices, and the codes the shared checks return (lockout, the account's state)."""
    found = set()
    for _path, tree in _trees():
        for call in _calls(tree, "record_login"):
            value = _keyword(call, "reason")
            if isinstance(value, ast.Constant):
                found.add(value.value)
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict):
                found |= {v.value for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant)
                          and k.value == "reason" and isinstance(v, ast.Constant)}
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "reason"
                                                    for t in node.targets):
                found |= _strings(node.value)
    found |= {credentials.LOCKED, credentials.BAD_PASSWORD}
    found |= _module_constants(account_state)  # what login_block_reason returns
    return found - {""}


def test_the_source_is_read():
    actions, reasons = recorded_actions(), recorded_reasons()
    assert {"account.update", "mfa.policy_set", "logs.audit_export", "owner.activate"} <= set(actions)
    assert {"bad_password", "bad_code", "app_not_assigned", "rate_limited", "disabled", "unknown_account"} <= reasons


def test_every_recorded_action_has_a_label():
    missing = {action: module for action, module in recorded_actions().items() if action not in labels.ACTIONS}
    assert missing == {}


def test_every_recorded_login_reason_has_a_label():
    assert recorded_reasons() - set(labels.REASONS) == set()


def test_every_sign_in_method_has_a_label():
    methods = {"password", *second_factor.AMR, authorization.PROTOCOL, sso.PROTOCOL}
    for path, tree in _trees():
        for call in _calls(tree, "record_login"):
            value = _keyword(call, "protocol")
            if isinstance(value, ast.Constant):
                methods.add(value.value)
    assert methods - set(labels.METHODS) == set()


def test_every_audited_app_setting_has_a_label():
    """app.update records every column of the app's OIDC client or SAML SP (idp/console/apps.py `_snapshot`)."""
    skip = {"id", "tenant_id", "app_id", "created_at", "updated_at", "client_secret_hash"}
    columns = {c.key for model in (OidcClient, SamlServiceProvider) for c in model.__table__.columns} - skip
    assert columns - set(labels.FIELDS) == set()


@pytest.mark.parametrize("action, changes, lines", [
    ("account.update", {"valid_to": [None, "2027-03-31"], "role": ["user", "admin"]},
     [("有効終了日", "（なし） → 2027/03/31"), ("ユーザータイプ", "ユーザー → 管理者")]),
    ("password.reset_request", {"mail_sent": True, "blocked": ""}, [("メール送信", "はい")]),
    ("password.reset_request", {"mail_sent": False, "blocked": "disabled"},
     [("メール送信", "いいえ"), ("メールを送らなかった理由", "アカウント無効")]),
    ("mfa.policy_set", {"mode": [None, "sms"]}, [("二段階認証", "会社の設定に従う → SMS（必須）")]),
    ("mfa.reset", {"method": ["totp", None]}, [("認証方法", "認証アプリ → （なし）")]),
    ("keys.rotate", {"new_kids": ["k1", "k2"], "activates_at": "2026-04-02T00:00:00"},
     [("鍵ID", "k1、k2"), ("署名開始", "2026/04/02 09:00")]),
    ("app.update", {"public": [False, True], "refresh_token_seconds": [2592000, 86400],
                    "attribute_map": ["{}", '{"email": "mail"}']},
     [("クライアントの種類", "コンフィデンシャル → パブリック"), ("リフレッシュトークンの有効期間（日）", "30 → 1"),
      ("属性名の対応付け", "（なし） → email → mail")]),
])
def test_changes_read_as_words(app, action, changes, lines):
    with app.test_request_context():
        assert change_lines(action, changes, names=None) == lines
