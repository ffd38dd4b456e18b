"""Apps pages (メニュー「サービス」): OIDC and SAML create/edit/detail/delete, the client secret shown once,
metadata upload, validation errors, audit events, cross-tenant 404, users 403, CSRF."""
import base64
import io
import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from idp.directory.groups import default_group
from idp.logs.audit import OPERATOR
from idp.models import App, AuditEvent
from idp.models.oidc import OidcClient, OidcGrant, OidcToken
from idp.models.saml import SamlServiceProvider
from idp.oidc import clients as oidc_clients
from idp.platform.extensions import db
from idp.saml import registry as saml_registry
from idp.tenancy import tenants
from tests.protocols.saml.conftest import make_key_pair
from tests.support.visible_text import visible

BASE = "http://127.0.0.1:8000"
REDIRECT = "https://expense.example.com/callback"
SECRET_RE = re.compile(r'<span class="client-secret"><input type="text" readonly value="([^"]+)"')


@pytest.fixture(scope="module")
def sp_cert():
    return make_key_pair("sp.example.com").cert


@pytest.fixture
def sales(factory, acme):
    return factory.group("acme", "営業")


def oidc_form(**overrides):
    data = {"name": "経費精算", "icon": "経", "color": "green", "launch_url": "https://expense.example.com/login",
            "redirect_uris": REDIRECT + "\r\nhttp://127.0.0.1:8080/cb",
            "post_logout_redirect_uris": "https://expense.example.com/bye",
            "backchannel_logout_uri": "https://expense.example.com/backchannel", "client_type": "confidential",
            "id_token_alg": "ES256", "access_token_format": "jwt", "allow_refresh": "y", "jwks": "",
            "access_token_minutes": "15", "id_token_minutes": "10", "refresh_token_days": "7"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def saml_form(cert="", **overrides):
    data = {"name": "勤怠", "icon": "", "color": "", "entity_id": "https://sp.example.com/metadata",
            "acs_urls": "https://sp.example.com/acs\nhttps://sp.example.com/acs2",
            "slo_url": "https://sp.example.com/slo",
            "signing_cert": cert, "encryption_cert": "", "nameid_format": "persistent", "sign": "assertion",
            "attribute_preset": "uri", "attr_department": "dept", "attr_email": "mail", "relay_state": "/home"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def metadata_xml(cert, entity_id="https://meta.example.com/sp"):
    body = "".join(line for line in cert.strip().splitlines() if "-----" not in line)
    return f"""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"
    entityID="{entity_id}">
  <md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{body}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="https://meta.example.com/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" index="3"
        Location="https://meta.example.com/acs-a"/>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" index="7" isDefault="true"
        Location="https://meta.example.com/acs-b"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>""".encode()


def create_oidc(submit, **overrides):
    """POST the create form; returns (response, app id, client secret or None)."""
    response = submit("/admin/apps/new/oidc", oidc_form(**overrides))
    if response.status_code == 302:  # a public client: no secret to show
        return response, int(response.location.rsplit("/", 1)[1]), None
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    html = response.get_data(as_text=True)
    match = SECRET_RE.search(html)
    app_id = int(re.search(r'href="/admin/apps/(\d+)"', html).group(1))
    return response, app_id, match.group(1) if match else None


def client_credentials(http, client_id, secret):
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return http.post("/t/acme/oidc/token", data={"grant_type": "client_credentials"},
                     headers={"Authorization": f"Basic {auth}"})


def oidc_row(app, app_id):
    with app.app_context():
        row = db.session.scalar(select(OidcClient).where(OidcClient.app_id == app_id))
        return {"client_id": row.client_id, "redirect_uris": row.redirect_uri_list, "public": row.public,
                "post_logout": row.post_logout_redirect_uri_list, "backchannel": row.backchannel_logout_uri,
                "initiate": row.initiate_login_uri, "alg": row.id_token_alg, "format": row.access_token_format,
                "allow_refresh": row.allow_refresh, "secret_hash": row.client_secret_hash,
                "app": {k: getattr(row.app, k) for k in ("name", "icon", "color", "launch_url", "access_token_seconds",
                                                         "id_token_seconds", "refresh_token_seconds")},
                "groups": sorted(g.name for g in row.app.groups)}


def audit_actions(app, app_id):
    with app.app_context():
        return [(e.action, e.actor_type, e.changes) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.target_type == "app", AuditEvent.target_id == app_id)
            .order_by(AuditEvent.id))]


# --- OIDC -----------------------------------------------------------------------------------------

def test_oidc_create_every_field_secret_shown_once_and_works(admin, submit, app, sales):
    response, app_id, secret = create_oidc(submit, groups=[str(sales)])
    assert response.headers["Cache-Control"] == "no-store"
    assert secret and len(secret) >= 40
    row = oidc_row(app, app_id)
    assert row["redirect_uris"] == [REDIRECT, "http://127.0.0.1:8080/cb"]
    assert row["post_logout"] == ["https://expense.example.com/bye"]
    assert row["backchannel"] == "https://expense.example.com/backchannel"
    assert row["initiate"] == "https://expense.example.com/login" and not row["public"] and row["allow_refresh"]
    assert (row["alg"], row["format"]) == ("ES256", "jwt")
    assert row["app"] == {"name": "経費精算", "icon": "経", "color": "green",
                          "launch_url": "https://expense.example.com/login", "access_token_seconds": 900,
                          "id_token_seconds": 600, "refresh_token_seconds": 7 * 86400}
    assert row["groups"] == ["営業"]
    assert secret not in row["secret_hash"]  # stored hashed
    detail = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    for text in (row["client_id"], f"{BASE}/t/acme", f"{BASE}/t/acme/.well-known/openid-configuration", REDIRECT,
                 "ES256", "15分", "10分", "7日", "営業"):
        assert text in detail
    assert secret not in detail and secret not in admin.get("/admin/apps").get_data(as_text=True)
    token = client_credentials(admin, row["client_id"], secret)
    assert token.status_code == 200 and token.json["expires_in"] == 900
    assert client_credentials(admin, row["client_id"], "wrong").status_code == 401
    assert audit_actions(app, app_id)[0][:2] == ("app.create", "admin")


def test_public_client_has_no_secret(admin, submit, app):
    response, app_id, secret = create_oidc(submit, client_type="public")
    assert secret is None
    assert response.status_code == 302 and oidc_row(app, app_id)["public"]
    assert "クライアントシークレット再発行" not in admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)


@pytest.mark.parametrize("overrides, message", [
    ({"name": ""}, "入力してください。"),
    ({"redirect_uris": ""}, "リダイレクトURIを1つ以上指定してください。"),
    ({"redirect_uris": "http://expense.example.com/cb"}, "http://はループバックアドレスのみ"),
    ({"post_logout_redirect_uris": "not a url"}, "URLの形式が正しくありません。"),
    ({"backchannel_logout_uri": "http://expense.example.com/bc"}, "http://はループバックアドレスのみ"),
    ({"launch_url": "javascript:alert(1)"}, "URLの形式が正しくありません。"),
    ({"id_token_alg": "HS256"}, "署名アルゴリズムはRS256またはES256です。"),
    ({"access_token_format": "paseto"}, "アクセストークンの形式はjwtまたはopaqueです。"),
    ({"jwks": "{not json"}, "JWKSの形式が正しくありません。"),
    ({"icon": "経費精"}, "2文字以内で入力してください。"),
    ({"color": "pink"}, "選択肢にない値です。"),
    ({"access_token_minutes": "2"}, "5〜1440の整数で入力してください。"),
    ({"id_token_minutes": "abc"}, "5〜1440の整数で入力してください。"),
    ({"refresh_token_days": "366"}, "1〜365の整数で入力してください。"),
    ({"groups": ["999999"]}, "グループが見つかりません。"),
])
def test_oidc_validation_errors_are_shown(admin, submit, app, overrides, message):
    response = submit("/admin/apps/new/oidc", oidc_form(**overrides))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and message in html and "入力内容を確認してください。" in html
    assert 'name="csrf_token"' in html
    with app.app_context():
        assert db.session.scalar(select(App).where(App.protocol == "oidc")) is None


def test_regenerate_invalidates_the_old_secret(admin, submit, post, app):
    _response, app_id, old = create_oidc(submit)
    client_id = oidc_row(app, app_id)["client_id"]
    response = post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/secret")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    new = SECRET_RE.search(response.get_data(as_text=True)).group(1)
    assert new != old
    assert client_credentials(admin, client_id, old).status_code == 401
    assert client_credentials(admin, client_id, new).status_code == 200
    assert new not in admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert ("app.secret_regenerate", "admin", {"client_id": client_id}) in audit_actions(app, app_id)


def test_edit_oidc_changes_every_field_and_audits(admin, submit, app, sales):
    _response, app_id, secret = create_oidc(submit)
    form = admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert "https://expense.example.com/bye" in form and 'value="15"' in form  # filled with the current values
    response = submit(f"/admin/apps/{app_id}/edit", oidc_form(
        name="経費精算2", icon="E", color="red", launch_url="", redirect_uris="https://new.example.com/cb",
        post_logout_redirect_uris="", backchannel_logout_uri="", id_token_alg="RS256", access_token_format="opaque",
        allow_refresh=None, access_token_minutes="5", id_token_minutes="1440", refresh_token_days="1",
        groups=[str(sales)]))
    assert response.status_code == 302 and response.location.endswith(f"/admin/apps/{app_id}")
    row = oidc_row(app, app_id)
    assert row["redirect_uris"] == ["https://new.example.com/cb"] and row["post_logout"] == []
    assert (row["backchannel"], row["initiate"], row["alg"], row["format"]) == ("", "", "RS256", "opaque")
    assert not row["allow_refresh"] and row["groups"] == ["営業"]
    assert row["app"] == {"name": "経費精算2", "icon": "E", "color": "red", "launch_url": "",
                          "access_token_seconds": 300, "id_token_seconds": 86400, "refresh_token_seconds": 86400}
    action, actor, changes = audit_actions(app, app_id)[-1]
    assert (action, actor) == ("app.update", "admin")
    assert changes["name"] == ["経費精算", "経費精算2"] and changes["id_token_alg"] == ["ES256", "RS256"]
    assert changes["groups"] == [[], ["営業"]] and "client_secret_hash" not in changes
    assert client_credentials(admin, row["client_id"], secret).status_code == 200  # the secret is kept


def test_dpop_required_is_set_and_cleared_in_the_console(admin, submit, app):
    _response, app_id, secret = create_oidc(submit, require_dpop="y")
    client_id = oidc_row(app, app_id)["client_id"]
    refused = client_credentials(admin, client_id, secret)  # no DPoP proof: a Bearer token is not issued
    assert refused.status_code == 400 and refused.json["error"] == "invalid_dpop_proof"
    assert 'name="require_dpop" value="y" checked' in admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert submit(f"/admin/apps/{app_id}/edit", oidc_form(require_dpop=None)).status_code == 302
    assert client_credentials(admin, client_id, secret).status_code == 200
    action, _actor, changes = audit_actions(app, app_id)[-1]
    assert action == "app.update" and changes["require_dpop"] == [True, False]


def test_par_required_is_set_and_cleared_in_the_console(admin, submit, app):
    _response, app_id, _secret = create_oidc(submit, require_par="y")
    client_id = oidc_row(app, app_id)["client_id"]
    plain = "/t/acme/oidc/authorize?" + urlencode({"response_type": "code", "client_id": client_id,
                                                   "redirect_uri": REDIRECT, "scope": "openid", "state": "s"})
    refused = admin.get(plain)  # not pushed first (RFC 9126): an error back to the app, no login
    assert refused.status_code == 302 and parse_qs(urlsplit(refused.location).query)["error"] == ["invalid_request"]
    assert 'name="require_par" value="y" checked' in admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert submit(f"/admin/apps/{app_id}/edit", oidc_form(require_par=None)).status_code == 302
    passed = admin.get(plain)  # past the PAR rule now; the admin's group is not assigned to the app
    assert parse_qs(urlsplit(passed.location).query)["error"] == ["access_denied"]
    action, _actor, changes = audit_actions(app, app_id)[-1]
    assert action == "app.update" and changes["require_pushed_authorization_requests"] == [True, False]


def test_the_detail_page_says_what_the_client_may_and_must_do(admin, submit, app):
    """An app that may call the admin API holds the tenant's admin powers: its page says so, as it says
    which requests it must make with DPoP or PAR."""
    _response, plain_id, _secret = create_oidc(submit)
    _response, api_id, _secret = create_oidc(submit, name="在庫連携", api_client="y", require_dpop="y",
                                             require_par="y")
    plain = visible(admin.get(f"/admin/apps/{plain_id}").get_data(as_text=True))
    api = visible(admin.get(f"/admin/apps/{api_id}").get_data(as_text=True))
    assert "要求の条件\n-\n管理APIクライアント\n-" in plain and "管理API\n" not in plain
    assert "要求の条件\nDPoP必須 / PAR必須\n管理APIクライアント\n管理API\n" in api
    assert "admin:read・admin:writeで管理REST APIを呼び出せます" in api
    admin.set_cookie("lang", "en")
    english = visible(admin.get(f"/admin/apps/{api_id}").get_data(as_text=True))
    assert "DPoP required / PAR required" in english and "Admin API" in english


def test_switching_to_public_and_back_issues_a_new_secret(admin, submit, app):
    _response, app_id, secret = create_oidc(submit)
    assert submit(f"/admin/apps/{app_id}/edit", oidc_form(client_type="public")).status_code == 302
    client_id = oidc_row(app, app_id)["client_id"]
    assert oidc_row(app, app_id)["public"] and client_credentials(admin, client_id, secret).status_code == 401
    response = submit(f"/admin/apps/{app_id}/edit", oidc_form(client_type="confidential"))
    new = SECRET_RE.search(response.get_data(as_text=True)).group(1)
    assert response.status_code == 200 and client_credentials(admin, client_id, new).status_code == 200


def _code_flow(http, client_id, secret, scope="openid offline_access"):
    response = http.get("/t/acme/oidc/authorize", query_string={
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "scope": scope, "state": "s",
        "nonce": "n"})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    code = parse_qs(urlsplit(response.location).query)["code"][0]
    auth = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    token = http.post("/t/acme/oidc/token", headers={"Authorization": f"Basic {auth}"},
                      data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert token.status_code == 200, token.get_data(as_text=True)
    return token.json


def _claims(jwt):
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_token_lifetimes_apply_to_issued_tokens(admin, submit, app, acme):
    with app.app_context():
        admin_group = default_group(tenants.get_by_slug("acme")).id
    _response, app_id, secret = create_oidc(submit, groups=[str(admin_group)])
    client_id = oidc_row(app, app_id)["client_id"]
    tokens = _code_flow(admin, client_id, secret)
    assert tokens["expires_in"] == 900
    id_token, access = _claims(tokens["id_token"]), _claims(tokens["access_token"])
    assert id_token["exp"] - id_token["iat"] == 600 and access["exp"] - access["iat"] == 900
    with app.app_context():
        refresh = db.session.scalar(select(OidcToken).where(OidcToken.kind == "refresh"))
        assert refresh.expires_at - refresh.created_at == timedelta(days=7)


def test_delete_after_confirmation_refuses_the_apps_tokens_only(admin, submit, post, app, acme):
    with app.app_context():
        admin_group = default_group(tenants.get_by_slug("acme")).id
    _response, app_id, secret = create_oidc(submit, groups=[str(admin_group)])
    _other, other_id, other_secret = create_oidc(submit, name="別アプリ", groups=[str(admin_group)])
    client_id, other_client = oidc_row(app, app_id)["client_id"], oidc_row(app, other_id)["client_id"]
    doomed, kept = _code_flow(admin, client_id, secret), _code_flow(admin, other_client, other_secret)
    bearer = {"Authorization": f"Bearer {doomed['access_token']}"}
    assert admin.get("/t/acme/oidc/userinfo", headers=bearer).status_code == 200
    confirm = post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/delete")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "経費精算" in html and 'name="confirm" value="1"' in html
    assert oidc_row(app, app_id)  # nothing deleted yet
    response = post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/delete", {"confirm": "1"})
    assert response.status_code == 302 and response.location.endswith("/admin/apps")
    with app.app_context():
        assert db.session.get(App, app_id) is None
        assert db.session.scalar(select(OidcClient).where(OidcClient.client_id == client_id)) is None
        assert db.session.scalar(select(OidcGrant).join(OidcClient).where(OidcClient.client_id == other_client))
    assert admin.get("/t/acme/oidc/userinfo", headers=bearer).status_code == 401
    assert client_credentials(admin, client_id, secret).status_code == 401
    assert admin.get("/t/acme/oidc/userinfo",
                     headers={"Authorization": f"Bearer {kept['access_token']}"}).status_code == 200
    assert admin.get("/admin/apps").status_code == 200  # the admin's own session goes on
    assert admin.get(f"/admin/apps/{app_id}").status_code == 404
    assert audit_actions(app, app_id)[-1][:2] == ("app.delete", "admin")


# --- SAML -----------------------------------------------------------------------------------------

def saml_row(app, app_id):
    with app.app_context():
        sp = db.session.scalar(select(SamlServiceProvider).where(SamlServiceProvider.app_id == app_id))
        return {"entity_id": sp.entity_id, "acs": sp.acs_list, "slo": sp.slo_url, "cert": sp.signing_cert,
                "enc": sp.encryption_cert, "enc_alg": sp.encryption_algorithm, "signed": sp.requests_signed,
                "nameid": sp.nameid_format, "sign": sp.sign,
                "preset": sp.attribute_preset, "map": sp.attribute_names, "relay": sp.relay_state,
                "name": sp.app.name, "launch_url": sp.app.launch_url, "sp_id": sp.id,
                "groups": sorted(g.name for g in sp.app.groups)}


def test_saml_create_with_every_field(admin, submit, app, sp_cert, sales):
    response = submit("/admin/apps/new/saml", saml_form(
        sp_cert, encryption_cert=sp_cert, requests_signed="y", color="purple", icon="勤", groups=[str(sales)]))
    assert response.status_code == 302
    app_id = int(response.location.rsplit("/", 1)[1])
    row = saml_row(app, app_id)
    assert row["entity_id"] == "https://sp.example.com/metadata"
    assert row["acs"] == [{"url": "https://sp.example.com/acs", "index": 0, "default": True},
                          {"url": "https://sp.example.com/acs2", "index": 1, "default": False}]
    assert (row["slo"], row["signed"], row["nameid"], row["sign"], row["preset"], row["relay"]) == (
        "https://sp.example.com/slo", True, "persistent", "assertion", "uri", "/home")
    assert row["map"] == {"email": "mail", "department": "dept"}
    assert row["cert"].startswith("-----BEGIN CERTIFICATE-----") and row["enc"]
    assert row["launch_url"] == f"{BASE}/t/acme/saml/launch/{row['sp_id']}" and row["groups"] == ["営業"]
    detail = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    for text in (f"{BASE}/t/acme/saml/metadata", f"{BASE}/t/acme/saml/sso", "https://sp.example.com/acs2", "/home",
                 "dept", "http://schemas.xmlsoap.org/claims/Group"):
        assert text in detail
    assert audit_actions(app, app_id)[0][:2] == ("app.create", "admin")


def test_saml_slo_binding_is_chosen_and_audited(admin, submit, app, sp_cert):
    created = submit("/admin/apps/new/saml", saml_form(sp_cert, slo_binding="post"))
    app_id = int(created.location.rsplit("/", 1)[1])
    with app.app_context():
        binding = lambda: db.session.scalar(select(SamlServiceProvider.slo_binding)  # noqa: E731
                                            .where(SamlServiceProvider.app_id == app_id))
        assert binding() == "post"
    assert "https://sp.example.com/slo（HTTP-POST）" in admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    refused = submit(f"/admin/apps/{app_id}/edit", saml_form(sp_cert, slo_binding="soap"))
    assert refused.status_code == 200 and "選択肢にない値です。" in refused.get_data(as_text=True)
    assert submit(f"/admin/apps/{app_id}/edit", saml_form(sp_cert, slo_binding="redirect")).status_code == 302
    with app.app_context():
        assert binding() == "redirect"
    action, _actor, changes = audit_actions(app, app_id)[-1]
    assert action == "app.update" and changes["slo_binding"] == ["post", "redirect"]


def test_saml_metadata_upload_fills_the_connection(admin, app, sp_cert, post, acme):
    with app.app_context():
        group = default_group(tenants.get_by_slug("acme")).id
    data = {**saml_form(entity_id="", acs_urls="", slo_url="", groups=[str(group)]),
            "metadata": (io.BytesIO(metadata_xml(sp_cert)), "sp.xml")}
    response = post("/admin/apps/new/saml", "/admin/apps/new/saml", data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    row = saml_row(app, int(response.location.rsplit("/", 1)[1]))
    assert row["entity_id"] == "https://meta.example.com/sp" and row["slo"] == "https://meta.example.com/slo"
    assert row["acs"] == [{"url": "https://meta.example.com/acs-a", "index": 3, "default": False},
                          {"url": "https://meta.example.com/acs-b", "index": 7, "default": True}]
    assert row["signed"] and row["cert"] and row["nameid"] == "persistent"
    launch = admin.get(row["launch_url"].replace(BASE, ""))  # IdP-initiated: to the default ACS with RelayState
    html = launch.get_data(as_text=True)
    assert launch.status_code == 200 and 'action="https://meta.example.com/acs-b"' in html
    assert 'name="RelayState" value="/home"' in html and 'name="SAMLResponse"' in html


@pytest.mark.parametrize("content, message", [
    (b"not xml at all", "メタデータのXMLを読み取れません"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "DTDや実体参照は使えません"),
    (b'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="e"/>', "SPSSODescriptor"),
    (b"<a>" + b"x" * (512 * 1024) + b"</a>", "メタデータが大きすぎます。"),
])
def test_bad_metadata_is_refused_with_its_reason(admin, post, app, content, message):
    data = {**saml_form(), "metadata": (io.BytesIO(content), "sp.xml")}
    response = post("/admin/apps/new/saml", "/admin/apps/new/saml", data, content_type="multipart/form-data")
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(App)) is None


@pytest.mark.parametrize("overrides, message", [
    ({"entity_id": ""}, "入力してください。"),
    ({"acs_urls": ""}, "ACS URLを1つ以上指定してください。"),
    ({"acs_urls": "http://sp.example.com/acs"}, "http://はループバックアドレスのみ"),
    ({"signing_cert": "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----"}, "証明書の形式が正しくありません"),
    ({"signing_cert": ""}, "シングルログアウトには署名用証明書が必要です。"),
    ({"signing_cert": "", "slo_url": "", "requests_signed": "y"}, "署名付きリクエストを要求するには署名用証明書が必要です。"),
    ({"nameid_format": "x509"}, "選択肢にない値です。"),
    ({"sign": "none"}, "選択肢にない値です。"),
    ({"encryption_algorithm": "aes128-cbc"}, "選択肢にない値です。"),
    ({"relay_state": "r" * 81}, "80文字以内で入力してください。"),
    ({"attr_phone": "p" * 257}, "属性の対応付けが正しくありません。"),
])
def test_saml_validation_errors_are_shown(admin, submit, app, sp_cert, overrides, message):
    response = submit("/admin/apps/new/saml", saml_form(sp_cert, **overrides))
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_saml_encryption_algorithm_round_trip(admin, submit, app, sp_cert):
    created = submit("/admin/apps/new/saml", saml_form(sp_cert, encryption_cert=sp_cert))
    app_id = int(created.location.rsplit("/", 1)[1])
    assert saml_row(app, app_id)["enc_alg"] == "aes256-gcm"  # the default
    form = admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert '<option value="aes256-gcm" selected>' in form
    edited = submit(f"/admin/apps/{app_id}/edit", saml_form(sp_cert, encryption_cert=sp_cert,
                                                            encryption_algorithm="aes256-cbc"))
    assert edited.status_code == 302 and saml_row(app, app_id)["enc_alg"] == "aes256-cbc"
    form = admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert '<option value="aes256-cbc" selected>' in form
    action, _actor, changes = audit_actions(app, app_id)[-1]
    assert action == "app.update" and changes["encryption_algorithm"] == ["aes256-gcm", "aes256-cbc"]


def test_saml_duplicate_entity_id_but_edit_keeps_its_own(admin, submit, app, sp_cert, post):
    first = submit("/admin/apps/new/saml", saml_form(sp_cert))
    app_id = int(first.location.rsplit("/", 1)[1])
    again = submit("/admin/apps/new/saml", saml_form(sp_cert, name="二つ目"))
    assert again.status_code == 200 and "このエンティティIDはすでに登録されています。" in again.get_data(as_text=True)
    form = admin.get(f"/admin/apps/{app_id}/edit").get_data(as_text=True)
    assert "https://sp.example.com/acs2" in form and 'value="dept"' in form
    edited = submit(f"/admin/apps/{app_id}/edit", saml_form(
        sp_cert, name="勤怠管理", sign="both", relay_state="", attr_department="", attr_email=""))
    assert edited.status_code == 302
    row = saml_row(app, app_id)
    assert (row["name"], row["sign"], row["relay"], row["map"]) == ("勤怠管理", "both", "", {})
    action, _actor, changes = audit_actions(app, app_id)[-1]
    assert action == "app.update" and changes["sign"] == ["assertion", "both"] and "entity_id" not in changes


def test_saml_edit_keeps_metadata_acs_indexes(admin, submit, post, app, sp_cert):
    data = {**saml_form(entity_id="", acs_urls=""), "metadata": (io.BytesIO(metadata_xml(sp_cert)), "m.xml")}
    created = post("/admin/apps/new/saml", "/admin/apps/new/saml", data, content_type="multipart/form-data")
    app_id = int(created.location.rsplit("/", 1)[1])
    row = saml_row(app, app_id)
    form = saml_form(row["cert"], entity_id=row["entity_id"], slo_url=row["slo"], requests_signed="y",
                     acs_urls="https://meta.example.com/acs-a\nhttps://meta.example.com/acs-b", name="改名")
    assert submit(f"/admin/apps/{app_id}/edit", form).status_code == 302
    assert saml_row(app, app_id)["acs"] == row["acs"] and saml_row(app, app_id)["name"] == "改名"


def test_saml_delete_removes_the_sp(admin, submit, post, app, sp_cert):
    created = submit("/admin/apps/new/saml", saml_form(sp_cert))
    app_id = int(created.location.rsplit("/", 1)[1])
    launch = saml_row(app, app_id)["launch_url"]
    post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/delete", {"confirm": "1"})
    with app.app_context():
        assert db.session.scalar(select(SamlServiceProvider)) is None
    assert admin.get(launch.replace(BASE, "")).status_code == 400
    assert audit_actions(app, app_id)[-1][:2] == ("app.delete", "admin")


# --- both -----------------------------------------------------------------------------------------

def test_list_nav_and_account_detail_link(admin, submit, app, acme):
    _response, app_id, _secret = create_oidc(submit)
    listing = admin.get("/admin/apps").get_data(as_text=True)
    assert 'href="/admin/apps" aria-current="page"' in listing and "サービス" in listing
    assert f'href="/admin/apps/{app_id}"' in listing and oidc_row(app, app_id)["client_id"] in listing
    assert f"{BASE}/t/acme/saml/metadata" in listing
    with app.app_context():
        tenant = tenants.get_by_slug("acme")
        admin_id = default_group(tenant).id
    submit(f"/admin/apps/{app_id}/edit", oidc_form(groups=[str(admin_id)]))
    with app.app_context():
        account_id = db.session.scalar(select(AuditEvent.actor_id).where(AuditEvent.action == "app.update"))
    detail = admin.get(f"/admin/accounts/{account_id}").get_data(as_text=True)
    assert f'href="/admin/apps/{app_id}">経費精算</a>' in detail


def test_portal_tile_shows_icon_and_colour(admin, submit, app, acme):
    with app.app_context():
        group = default_group(tenants.get_by_slug("acme")).id
    create_oidc(submit, groups=[str(group)], icon="E", color="purple")
    home = admin.get("/").get_data(as_text=True)
    assert '<span class="tile-icon tile-3" aria-hidden="true">E</span>' in home
    assert 'href="https://expense.example.com/login"' in home


@pytest.fixture
def foreign_apps(app, clock, factory, acme, sp_cert):
    """An OIDC and a SAML app of another tenant."""
    factory.tenant(slug="other", company="Other Inc.")
    with app.app_context():
        other = tenants.get_by_slug("other")
        oidc = oidc_clients.register(
            other, oidc_clients.ClientSettings(
                name="foreign", redirect_uris=[REDIRECT]),
            now=clock.now(), actor=OPERATOR)
        saml = saml_registry.register(
            other, saml_registry.SpSettings(
                name="foreign-saml", entity_id="https://f.example.com", acs_urls=["https://f.example.com/acs"]),
            now=clock.now(), actor=OPERATOR)
        db.session.commit()
        return [oidc.app.id, saml.app.id]


@pytest.mark.parametrize("method, path", [("get", ""), ("get", "/edit"), ("post", "/edit"), ("post", "/secret"),
                                          ("post", "/delete")])
def test_other_tenants_apps_answer_404(admin, post, app, foreign_apps, method, path):
    for app_id in foreign_apps:
        if method == "get":
            response = admin.get(f"/admin/apps/{app_id}{path}")
        else:
            response = post("/admin/apps/new/oidc", f"/admin/apps/{app_id}{path}", {"confirm": "1", "name": "hijacked"})
        assert response.status_code == 404
    with app.app_context():
        assert sorted(a.name for a in db.session.scalars(select(App))) == ["foreign", "foreign-saml"]
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action.like("app.%"),
                                                          AuditEvent.actor_type == "admin")) is None
    assert "foreign" not in admin.get("/admin/apps").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/admin/apps", "/admin/apps/new/oidc", "/admin/apps/new/saml"])
def test_users_get_403_and_anonymous_the_login(client, login, factory, acme, path):
    assert client.get(path).status_code == 302
    factory.account("acme")
    login()
    assert client.get(path).status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/password").get_data(as_text=True)).group(1)
    assert client.post(path, data={"csrf_token": token, **oidc_form()}).status_code in (403, 405)


def test_user_cannot_touch_an_app(client, login, factory, acme, app, clock):
    with app.app_context():
        app_id = oidc_clients.register(
            tenants.get_by_slug("acme"), oidc_clients.ClientSettings(
                name="x", redirect_uris=[REDIRECT]),
            now=clock.now(), actor=OPERATOR).app.id
        db.session.commit()
    factory.account("acme")
    login()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/password").get_data(as_text=True)).group(1)
    for path in ("", "/edit", "/secret", "/delete"):
        assert client.post(f"/admin/apps/{app_id}{path}", data={"csrf_token": token, "confirm": "1"}).status_code in (
            403, 405)
    assert client.get(f"/admin/apps/{app_id}").status_code == 403


@pytest.mark.parametrize("path", ["/admin/apps/new/oidc", "/admin/apps/new/saml"])
def test_forms_carry_csrf_and_refuse_posts_without_it(admin, app, path):
    assert 'name="csrf_token"' in admin.get(path).get_data(as_text=True)
    response = admin.post(path, data=oidc_form() if "oidc" in path else saml_form())
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(App)) is None


def test_secret_and_delete_buttons_need_csrf(admin, submit, app):
    _response, app_id, _secret = create_oidc(submit)
    detail = admin.get(f"/admin/apps/{app_id}").get_data(as_text=True)
    assert detail.count('name="csrf_token"') >= 2
    assert admin.post(f"/admin/apps/{app_id}/secret").status_code == 400
    assert admin.post(f"/admin/apps/{app_id}/delete", data={"confirm": "1"}).status_code == 400
    assert oidc_row(app, app_id)


def test_link_app_has_a_detail_and_can_be_deleted_but_no_protocol_form(admin, post, app, clock, acme):
    from idp.apps import catalogue as apps
    with app.app_context():
        app_id = apps.create_bookmark_app(tenants.get_by_slug("acme"), name="社内wiki", now=clock.now(),
                                          launch_url="https://wiki.example.com/", actor=OPERATOR).id
        db.session.commit()
    detail = admin.get(f"/admin/apps/{app_id}")
    assert detail.status_code == 200 and "https://wiki.example.com/" in detail.get_data(as_text=True)
    assert admin.get(f"/admin/apps/{app_id}/edit").status_code == 404
    assert post(f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/delete", {"confirm": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(App, app_id) is None


def test_pages_render_in_english(admin, submit, app, sp_cert):
    """The pages render with the English locale too (their strings are in translations/pending)."""
    admin.get("/lang/en?next=/admin/apps")
    _response, app_id, _secret = create_oidc(submit)
    saml = submit("/admin/apps/new/saml", saml_form(sp_cert))
    for path in ("/admin/apps", f"/admin/apps/{app_id}", f"/admin/apps/{app_id}/edit", saml.location,
                 "/admin/apps/new/saml"):
        response = admin.get(path)
        assert response.status_code == 200 and '<html lang="en">' in response.get_data(as_text=True)


def test_new_oidc_app_form_offers_opaque_access_tokens_first_and_by_default(admin):
    page = admin.get("/admin/apps/new/oidc").get_data(as_text=True)
    select = re.search(r'<select name="access_token_format">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="(\w+)"', select) == ["opaque", "jwt"]
    assert re.search(r'<option value="opaque"\s+selected', select)
