"""idp.console.account_csv without HTTP: decoding, parsing, whole-file validation, apply, export."""
import pytest

from idp.authn.mfa import policy as mfa_policy
from idp.console import account_csv
from idp.directory.groups import get_by_name
from idp.logs.audit import OPERATOR
from idp.platform.extensions import db
from idp.tenancy import tenants

HEADER = ",".join(account_csv.HEADER)
ROW = "ichiro@acme.example.com,鈴木 一郎,0,本社,営業部,ACME株式会社,,,2026/04/01,,0,0"


@pytest.mark.parametrize("data", [
    (HEADER + "\r\n" + ROW).encode("utf-8"),
    (HEADER + "\r\n" + ROW).encode("utf-8-sig"),
    (HEADER + "\r\n" + ROW).encode("cp932"),
])
def test_decode_accepts_utf8_with_or_without_bom_and_cp932(data):
    text = account_csv.decode(data)
    assert text.startswith("メールアドレス") and "鈴木 一郎" in text


def test_decode_refuses_other_encodings():
    assert account_csv.decode("メールアドレス".encode("utf-16")) is None
    rows, errors = account_csv.parse(None)
    assert rows == [] and "UTF-8" in str(errors[0].message)


def test_parse_numbers_rows_as_excel_and_skips_blank_lines():
    rows, errors = account_csv.parse(HEADER + "\r\n\r\n" + ROW + "\r\n,,,,,,,,,,,\r\n")
    assert errors == [] and [number for number, _cells in rows] == [3]


@pytest.fixture
def tenant(app, factory):
    factory.tenant()
    with app.app_context():
        yield tenants.get_by_slug("acme")


def test_plan_counts_and_apply(app, clock, tenant, outbox):
    plan = account_csv.read_plan(tenant, (HEADER + "\n" + ROW).encode(), acting_account_id=None)
    assert plan.errors == [] and plan.counts() == {"create": 1, "update": 0, "delete": 0, "unchanged": 0}
    account_csv.apply_plan(tenant, plan, now=clock.now(), actor=OPERATOR)
    db.session.commit()
    assert len(outbox.to("ichiro@acme.example.com")) == 1
    plan = account_csv.read_plan(tenant, (HEADER + "\n" + ROW[:-1] + "1").encode(), acting_account_id=None)
    assert plan.counts() == {"create": 0, "update": 0, "delete": 1, "unchanged": 0}
    unchanged = account_csv.read_plan(tenant, (HEADER + "\n" + ROW).encode(), acting_account_id=None)
    assert unchanged.counts() == {"create": 0, "update": 0, "delete": 0, "unchanged": 1}


def test_mobile_required_under_the_sms_policy(app, clock, tenant):
    mfa_policy.set_policy(tenant, mfa_policy.SMS, group=get_by_name(tenant, "ACME株式会社"), now=clock.now(),
                          actor=OPERATOR)
    plan = account_csv.read_plan(tenant, (HEADER + "\n" + ROW).encode(), acting_account_id=None)
    assert [(e.row, e.column) for e in plan.errors] == [(2, "携帯電話番号")]
    assert plan.operations == []


def test_all_errors_of_a_row_are_listed(tenant):
    bad = "bad@acme.example.com,,7,,,ない,1,2,2026-1-1,x,5,0"
    plan = account_csv.read_plan(tenant, (HEADER + "\n" + bad).encode(), acting_account_id=None)
    assert sorted(e.column for e in plan.errors) == sorted(
        ["名前", "ユーザータイプ", "所属グループ", "携帯電話番号", "電話番号", "有効開始年月日", "有効終了年月日", "ステータス"])


def test_export_matches_the_import_format(app, clock, tenant):
    plan = account_csv.read_plan(tenant, (HEADER + "\n" + ROW).encode(), acting_account_id=None)
    account_csv.apply_plan(tenant, plan, now=clock.now(), actor=OPERATOR)
    db.session.flush()
    from idp.directory.accounts import get_in_tenant
    data = account_csv.export([get_in_tenant(tenant, "ichiro@acme.example.com")], account_csv.group_names(tenant))
    assert data.decode("utf-8-sig").splitlines() == [HEADER, ROW]


@pytest.mark.parametrize("value, guarded", [
    ("=1+2", "'=1+2"), ("+81", "'+81"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("山田", "山田"), ("'quoted", "'quoted"), ("a=b", "a=b"), ("", ""), (None, ""), (7, "7"),
])
def test_formula_cells_are_guarded_and_unguarded(value, guarded):
    from idp.platform import csv_cells
    assert csv_cells.text_cell(value) == guarded
    if isinstance(value, str):
        assert csv_cells.formula_cell_value(csv_cells.text_cell(value)) == value
