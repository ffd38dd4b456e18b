"""Phone numbers as people type them (hyphens, full-width digits, spaces, the 0 Excel drops) are stored as
digits by the account form and the CSV import; a number that cannot be a mobile number is refused, saying why."""
import pytest
from sqlalchemy import select

from idp.models import Account
from idp.platform.extensions import db
from tests.admin_ui.admin.test_accounts import FORM, _group_id
from tests.admin_ui.admin.test_accounts_csv import csv_bytes, row

TYPED = ["090-1234-5678", "０９０ １２３４ ５６７８", "9012345678", "０９０－１２３４－５６７８", "+81 90 1234 5678"]
STORED = "09012345678"
NOT_A_MOBILE = "携帯電話番号は070・080・090で始まる11桁の番号を入力してください（例：090-1234-5678）。"


def _numbers(app):
    with app.app_context():
        return {a.email: (a.mobile, a.phone) for a in db.session.scalars(select(Account))}


@pytest.mark.parametrize("typed", TYPED)
def test_account_form_stores_what_was_typed_as_digits(admin, submit, app, typed):
    data = {**FORM, "email": "ichiro@acme.example.com", "group": str(_group_id(app, "ACME株式会社")),
            "mobile": typed, "phone": "03-1234-5678"}
    response = submit("/admin/accounts/new", data, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and f"<dd>{STORED}</dd>" in html and "<dd>0312345678</dd>" in html
    assert _numbers(app)["ichiro@acme.example.com"] == (STORED, "0312345678")


def test_account_edit_cleans_the_number_too(admin, submit, app, factory):
    account_id, _url = factory.account(email="jiro@acme.example.com", name="佐藤 次郎")
    data = {**FORM, "group": str(_group_id(app, "ACME株式会社")), "mobile": "080 1111 2222"}
    assert submit(f"/admin/accounts/{account_id}/edit", data).status_code == 302
    assert _numbers(app)["jiro@acme.example.com"][0] == "08011112222"


@pytest.mark.parametrize("typed", ["090-1234-567", "03-1234-5678", "なし"])
def test_account_form_says_why_a_number_is_no_mobile_number(admin, submit, app, typed):
    data = {**FORM, "email": "ichiro@acme.example.com", "group": str(_group_id(app, "ACME株式会社")),
            "mobile": typed}
    response = submit("/admin/accounts/new", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and NOT_A_MOBILE in html
    assert f'value="{typed}"' in html  # what was typed stays in the field
    assert "ichiro@acme.example.com" not in _numbers(app)


def test_csv_import_stores_what_was_typed_as_digits(upload, apply, app):
    rows = [row(email=f"user{i}@acme.example.com", mobile=typed, phone="０３－１２３４－５６７８")
            for i, typed in enumerate(TYPED)]
    html, url = upload(csv_bytes(rows))
    assert "取り込む" in html and NOT_A_MOBILE not in html
    apply(url)
    numbers = _numbers(app)
    assert [numbers[f"user{i}@acme.example.com"] for i in range(len(TYPED))] == [(STORED, "0312345678")] * len(TYPED)


def test_csv_import_says_why_a_number_is_no_mobile_number(upload, app):
    html, _url = upload(csv_bytes([row(mobile="090-1234-567")]))
    assert "<td>2</td><td>携帯電話番号</td>" in html and NOT_A_MOBILE in html
    assert "ichiro@acme.example.com" not in _numbers(app)
