"""What the log pages and CSVs show for the codes the events store: one table per kind of code.

Audit actions (`AuditEvent.action`), login reasons, results and methods (`LoginEvent.reason`, `.result`,
`.protocol`), the fields of `AuditEvent.changes` and their coded values. A code missing here is shown as
it is stored; tests/idp/logs/test_labels.py checks that every action and reason the code records has a label.

`LoginEvent.protocol` says how the person signed in: `password` alone, `totp`, `sms` or `recovery` (the
password and that second factor, idp/authn/second_factor.py), or the protocol of an app (`oidc`, `saml`).
"""
from flask_babel import lazy_gettext as _l

ACTIONS = {
    "account.create": _l("アカウントの登録"),
    "account.update": _l("アカウントの変更"),
    "account.delete": _l("アカウントの削除"),
    "account.unlock": _l("アカウントのロック解除"),
    "account.activate": _l("初期設定の完了"),
    "account.resend_activation": _l("有効化メールの再送"),
    "account.csv_import": _l("CSV一括登録"),
    "account.csv_export": _l("アカウント一覧のダウンロード"),
    "profile.update": _l("プロフィールの変更"),
    "password.change": _l("パスワードの変更"),
    "password.reset": _l("パスワードの再設定"),
    "password.reset_request": _l("パスワード再設定の申請"),
    "mfa.enrolled": _l("二段階認証の登録"),
    "mfa.reset": _l("二段階認証のリセット"),
    "mfa.recovery_codes_renewed": _l("回復コードの再発行"),
    "mfa.policy_set": _l("二段階認証の設定変更"),
    "group.create": _l("グループの登録"),
    "group.update": _l("グループの変更"),
    "group.delete": _l("グループの削除"),
    "app.create": _l("サービスの登録"),
    "app.update": _l("サービスの変更"),
    "app.delete": _l("サービスの削除"),
    "app.secret_regenerate": _l("クライアントシークレットの再発行"),
    "app.provisioning_sync": _l("プロビジョニングの同期"),
    "passkey.registered": _l("パスキーの登録"),
    "passkey.deleted": _l("パスキーの削除"),
    "passkey.clone_suspected": _l("パスキーの複製の疑い"),
    "scim_token.create": _l("SCIMトークンの作成"),
    "scim_token.revoke": _l("SCIMトークンの無効化"),
    "keys.rotate": _l("署名鍵の更新"),
    "logs.login_export": _l("ログイン履歴のダウンロード"),
    "logs.audit_export": _l("管理操作履歴のダウンロード"),
    "tenant.create": _l("利用開始"),
    "tenant.terminate": _l("利用の終了"),
    "tenant.restore": _l("利用の再開"),
    "owner.activate": _l("契約者の初期設定"),
    "owner.password_reset": _l("契約者のパスワード再設定"),
    "owner.password_reset_request": _l("契約者のパスワード再設定の申請"),
    "owner.handover_request": _l("契約者の切り替えの申請"),
    "owner.handover": _l("契約者の切り替えの完了"),
}

# The actions whose changes are {field: [before, after]}; the others record plain values.
CHANGE_PAIRS = frozenset({"account.update", "profile.update", "mfa.policy_set", "mfa.reset", "group.update",
                          "app.update", "owner.handover"})

REASONS = {
    "missing_input": _l("未入力"),
    "unknown_account": _l("登録されていないID"),
    "bad_password": _l("パスワード誤り"),
    "locked": _l("ロック中"),
    "disabled": _l("アカウント無効"),
    "not_yet_valid": _l("有効期間の開始前"),
    "expired": _l("有効期間の終了後"),
    "not_activated": _l("初期設定が未完了"),
    "tenant_terminated": _l("契約終了"),
    "bad_code": _l("認証コード誤り"),
    "app_not_assigned": _l("サービスの利用権限なし"),
    "rate_limited": _l("試行回数の上限"),
    "federation_failed": _l("外部IDでのログイン失敗"),
    "bad_passkey": _l("パスキーの確認失敗"),
    "clone_suspected": _l("パスキーの複製の疑い（署名カウンタの逆行）"),
}

RESULTS = {"success": _l("成功"), "failure": _l("失敗")}

METHODS = {
    "password": _l("パスワード"),
    "totp": _l("パスワード＋認証アプリ"),
    "sms": _l("パスワード＋SMS"),
    "recovery": _l("パスワード＋回復コード"),
    "passkey": _l("パスキー"),
    "oidc": _l("OpenID Connect"),
    "saml": _l("SAML 2.0"),
}

LOGIN_TARGETS = {"portal": _l("ポータル"), "contract": _l("契約管理")}

# Who acted when the event names no account or owner (their e-mail address is shown otherwise).
ACTORS = {"operator": _l("運用担当者（コマンド）"), "anonymous": _l("（未ログイン）"), "system": _l("システム")}

TARGET_TYPES = {"tenant": _l("会社全体")}

FIELDS = {
    # accounts, profiles, groups
    "email": _l("メールアドレス"), "name": _l("名前"), "role": _l("ユーザータイプ"), "status": _l("ステータス"),
    "group": _l("所属グループ"), "phone": _l("電話番号"), "mobile": _l("携帯電話番号"),
    "organization": _l("組織名"), "department": _l("部署名"), "valid_from": _l("有効開始日"),
    "valid_to": _l("有効終了日"), "description": _l("説明"), "apps": _l("利用できるサービス"),
    "members_to": _l("メンバーの移動先"),
    # sign-in, passwords, second factor
    "was_locked": _l("ロック状態"), "activated": _l("初期設定の完了"), "mail_sent": _l("メール送信"),
    "blocked": _l("メールを送らなかった理由"), "mode": _l("二段階認証"), "method": _l("認証方法"),
    # CSV and log downloads, keys, the tenant and its owner
    "count": _l("件数"), "filters": _l("検索条件"), "create": _l("登録"), "update": _l("更新"),
    "delete": _l("削除"), "new_kids": _l("鍵ID"), "activates_at": _l("署名開始"),
    "accounts": _l("アカウント数"), "terminated_at": _l("利用終了日時"), "company_name": _l("会社名"),
    "owner_email": _l("契約者のメールアドレス"), "admin_email": _l("最初の管理者のメールアドレス"),
    "new_email": _l("新しい契約者のメールアドレス"), "new_name": _l("新しい契約者の名前"),
    # log filters (the download's `filters`)
    "from": _l("開始日"), "to": _l("終了日"), "user": _l("ユーザー"), "app": _l("サービス"), "action": _l("操作"),
    "result": _l("結果"),
    # apps (idp/console/apps.py `_snapshot`: the tile, the OIDC client's or SAML SP's columns)
    "protocol": _l("プロトコル"), "icon": _l("アイコン"), "color": _l("タイルの色"), "launch_url": _l("起動URL"),
    "groups": _l("利用できるグループ"), "client_id": _l("クライアントID"), "public": _l("クライアントの種類"),
    "redirect_uris": _l("リダイレクトURI"), "post_logout_redirect_uris": _l("ログアウト後のリダイレクトURI"),
    "backchannel_logout_uri": _l("バックチャネルログアウトURI"), "initiate_login_uri": _l("起動URL"),
    "jwks": _l("クライアントの公開鍵（JWKS）"), "id_token_alg": _l("IDトークンの署名アルゴリズム"),
    "access_token_format": _l("アクセストークンの形式"), "allow_refresh": _l("リフレッシュトークンの発行"),
    "require_dpop": _l("DPoPを必須にする"), "require_pushed_authorization_requests": _l("PARを必須にする"),
    "access_token_seconds": _l("アクセストークンの有効期間（分）"),
    "id_token_seconds": _l("IDトークンの有効期間（分）"),
    "refresh_token_seconds": _l("リフレッシュトークンの有効期間（日）"),
    "entity_id": _l("エンティティID"), "acs_endpoints": _l("ACS URL"), "slo_url": _l("SLO URL"),
    "slo_binding": _l("SLOのバインディング"),
    "signing_cert": _l("署名用証明書"), "encryption_cert": _l("暗号化用証明書"),
    "encryption_algorithm": _l("アサーションの暗号化方式"), "nameid_format": _l("NameIDの形式"),
    "sign": _l("署名する対象"), "requests_signed": _l("署名のないAuthnRequestを拒否する"),
    "attribute_preset": _l("属性のプリセット"), "attribute_map": _l("属性名の対応付け"),
    "relay_state": _l("RelayState"), "metadata_url": _l("メタデータのURL"),
    "api_client": _l("管理APIクライアント"),
    # SCIM push to the app (idp/provisioning/settings.py)
    "scim_base_url": _l("SCIMのベースURL"), "scim_token": _l("SCIMのトークン"),
    "provisioning": _l("アカウントの変更をこのサービスに反映する"), "deprovision": _l("使えなくなったアカウント"),
}

_MFA_MODES = {"off": _l("使用しない"), "totp": _l("認証アプリ（必須）"), "sms": _l("SMS（必須）"),
              "any": _l("認証アプリ、SMSまたはパスキー（必須）"),
              "passkey": _l("パスキー（必須）"), None: _l("会社の設定に従う")}

# Coded values of a field: {field: {stored value: label}} (booleans included).
VALUES = {
    "role": {"user": _l("ユーザー"), "admin": _l("管理者")},
    "status": {"enabled": _l("有効"), "disabled": _l("無効")},
    "mode": _MFA_MODES,
    "method": {"totp": _l("認証アプリ"), "sms": _l("SMS"), "passkey": _l("パスキー")},
    "blocked": REASONS,
    "result": RESULTS,
    "action": ACTIONS,
    "was_locked": {True: _l("ロック中"), False: _l("ロックなし")},
    "public": {True: _l("パブリック"), False: _l("コンフィデンシャル")},
    "api_client": {True: _l("オン"), False: _l("オフ")},
    "provisioning": {True: _l("オン"), False: _l("オフ")},
    "deprovision": {"deactivate": _l("無効化"), "delete": _l("削除")},
    "scim_token": {"set": _l("設定済み"), "": _l("未設定")},
    "protocol": {"oidc": _l("OpenID Connect"), "saml": _l("SAML 2.0"), "link": _l("リンク")},
    "color": {"blue": _l("青"), "green": _l("緑"), "orange": _l("橙"), "purple": _l("紫"), "red": _l("赤"),
              "slate": _l("灰")},
    "access_token_format": {"jwt": "JWT", "opaque": _l("ランダム文字列")},
    "sign": {"response": _l("レスポンス"), "assertion": _l("アサーション"), "both": _l("レスポンスとアサーション")},
    "nameid_format": {"email": _l("メールアドレス"), "persistent": _l("永続的な識別子（persistent）"),
                      "unspecified": _l("ユーザー識別子（unspecified）")},
    "attribute_preset": {"basic": _l("基本（email, name, groups）"), "uri": _l("URI（http://schemas.xmlsoap.org/…）"),
                         "oid": _l("OID（urn:oid:…）")},
}
YES_NO = {True: _l("はい"), False: _l("いいえ")}
NOTHING = _l("（なし）")


def label(table, code):
    """The label of `code` in `table` as text, or the code itself when the table does not know it."""
    found = table.get(code)
    return str(found) if found is not None else ("" if code is None else str(code))
