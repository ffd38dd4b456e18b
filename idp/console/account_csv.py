"""CSV bulk import/export of accounts (the format Excel in Japan reads and writes).

Import is two steps: `read_plan` decodes (UTF-8 with or without BOM, else CP932), parses and
validates the WHOLE file against the database, and returns either every error (row number as
Excel shows it, column, reason) or a plan: what each row changes (field: before -> after), rows
equal to their account being "unchanged"; `apply_plan` then runs the plan in the caller's
transaction (the view commits once: all rows or none) and writes nothing for unchanged rows.
Export writes the same columns, so export -> edit -> import round-trips as "unchanged"; `sample`
is the template with one example row.
"""
import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp.console import accounts as console_accounts
from idp.console.accounts import delete_account
from idp.directory.groups import default_group
from idp.logs.audit import NO_CLIENT, record_audit
from idp.models import Account, Group
from idp.models.account import ROLE_ADMIN, ROLE_USER, STATUS_DISABLED, STATUS_ENABLED
from idp.platform.csv_cells import formula_cell_value, text_cell
from idp.platform.email_address import clean_email, normalize_email
from idp.platform.errors import ValidationError
from idp.platform.extensions import db

MAX_ROWS = 300
HEADER = ("メールアドレス", "名前", "ユーザータイプ", "組織名", "部署名", "所属グループ", "携帯電話番号",
          "電話番号", "有効開始年月日", "有効終了年月日", "ステータス", "論理削除フラグ")
EMAIL, NAME, ROLE, ORG, DEPT, GROUP, MOBILE, PHONE, VALID_FROM, VALID_TO, STATUS, DELETE = range(12)
COLUMNS = dict(zip(("email", "name", "role", "organization", "department", "group", "mobile", "phone",
                    "valid_from", "valid_to", "status", "delete"), HEADER))  # key -> the column's name in the file
ROLE_CODES = {"0": ROLE_USER, "1": ROLE_ADMIN}
STATUS_CODES = {"0": STATUS_ENABLED, "1": STATUS_DISABLED}
DATE_FORMAT = "%Y/%m/%d"  # strptime also takes 2026/4/1, which Excel writes back
FIELD_COLUMNS = {"name": NAME, "phone": PHONE, "mobile": MOBILE, "organization": ORG, "department": DEPT,
                 "role": ROLE, "status": STATUS, "valid_from": VALID_FROM, "valid_to": VALID_TO, "group": GROUP}
CREATE, UPDATE, DELETE_OP, UNCHANGED = "create", "update", "delete", "unchanged"
KINDS = (CREATE, UPDATE, DELETE_OP, UNCHANGED)
FILE_ROW = 0  # errors about the whole file


@dataclass(frozen=True)
class RowError:
    row: int  # as Excel numbers it: the header is row 1
    column: str
    message: str


@dataclass(frozen=True)
class Change:
    """One field an update row changes: `field` is an AccountFields name ("group" for the group), the values
    as the account has them (dates, "user"/"admin", "enabled"/"disabled"; the group's name, not its id)."""
    field: str
    before: object
    after: object


@dataclass
class Operation:
    kind: str
    row: int
    email: str
    fields: console_accounts.AccountFields = None
    account_id: int = None
    name: str = ""  # the account's name (the file's for a new account)
    changes: list = field(default_factory=list)  # [Change] of an update, in the file's column order


@dataclass
class ImportPlan:
    operations: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def counts(self):
        return {kind: sum(1 for op in self.operations if op.kind == kind) for kind in KINDS}

    def changing(self):
        """The operations that change something (what the review lists and the apply runs)."""
        return [op for op in self.operations if op.kind != UNCHANGED]


def decode(data):
    """Text of an uploaded file: UTF-8 (BOM optional), else Shift_JIS/CP932; None if neither."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def parse(text):
    """(rows with their Excel row numbers, file-level errors)."""
    if text is None:
        return [], [RowError(FILE_ROW, "", _l("文字コードはUTF-8またはShift_JISで保存してください。"))]
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records or tuple(cell.strip() for cell in records[0]) != HEADER:
        return [], [RowError(1, "", _l("1行目は書式ダウンロード(CSV)と同じ見出し行にしてください。"))]
    rows = [(number, cells) for number, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]
    if not rows:
        return [], [RowError(FILE_ROW, "", _l("データ行がありません。"))]
    if len(rows) > MAX_ROWS:
        message = _l("一度に取り込めるのは%(n)d行までです（%(count)d行あります）。", n=MAX_ROWS, count=len(rows))
        return [], [RowError(FILE_ROW, "", message)]
    return rows, []


def has_no_rows(data):
    """True for a file without a single account row: zero bytes, blank lines, or the header row alone."""
    text = decode(data)
    if text is None:
        return False
    records = [cells for cells in csv.reader(io.StringIO(text, newline="")) if any(c.strip() for c in cells)]
    return not records or (len(records) == 1 and tuple(cell.strip() for cell in records[0]) == HEADER)


def read_plan(tenant, data, *, acting_account_id):
    """Decode, parse and validate the whole upload; nothing is changed."""
    rows, errors = parse(decode(data))
    if errors:
        return ImportPlan(errors=errors)
    plan = ImportPlan()
    context = _Context.load(tenant, rows)
    for number, cells in rows:
        _plan_row(plan, context, number, [formula_cell_value(c.strip()) for c in cells], acting_account_id)
    if plan.errors:
        plan.operations = []
    return plan


@dataclass
class _Context:
    tenant: object
    groups: dict  # name -> id
    existing: dict  # normalized email -> Account of the tenant (other tenants' accounts never count)
    seen: set = field(default_factory=set)
    lookups: console_accounts.TenantLookups = None

    def __post_init__(self):
        self.lookups = console_accounts.TenantLookups(self.tenant)
        self.group_names = {group_id: name for name, group_id in self.groups.items()}

    @classmethod
    def load(cls, tenant, rows):
        groups = dict(db.session.execute(select(Group.name, Group.id).where(Group.tenant_id == tenant.id)).all())
        emails = {normalize_email(cells[EMAIL]) for _n, cells in rows if cells}
        existing = {a.email_normalized: a for a in db.session.scalars(select(Account).where(
            Account.tenant_id == tenant.id, Account.email_normalized.in_(emails)))} if emails else {}
        return cls(tenant, groups, existing)


def _plan_row(plan, context, number, cells, acting_account_id):
    def error(column, message):
        plan.errors.append(RowError(number, HEADER[column] if column is not None else "", message))

    if len(cells) != len(HEADER):
        return error(None, _l("列の数が正しくありません（%(n)d列必要です）。", n=len(HEADER)))
    try:
        email = clean_email(cells[EMAIL])
    except ValidationError as exc:
        return error(EMAIL, exc.message)
    key = normalize_email(email)
    if key in context.seen:
        return error(EMAIL, _l("同じメールアドレスがファイル内で重複しています。"))
    context.seen.add(key)
    account = context.existing.get(key)
    if cells[DELETE] not in ("0", "1"):
        return error(DELETE, _l("0（登録・更新）または1（削除）を指定してください。"))
    if cells[DELETE] == "1":
        if account is None:
            return error(EMAIL, _l("削除するアカウントが見つかりません。"))
        if account.id == acting_account_id:
            return error(DELETE, _l("自分自身のアカウントは削除できません。"))
        plan.operations.append(Operation(DELETE_OP, number, email, account_id=account.id, name=account.name))
        return None
    fields, problems = _fields(context, cells)
    reported = {column for column, _message in problems}
    problems += [(FIELD_COLUMNS[name], messages[0])
                 for name, messages in console_accounts.field_errors(context.tenant, fields, context.lookups).items()
                 if FIELD_COLUMNS[name] not in reported]
    if not problems and account is not None and account.id == acting_account_id and (
            fields.role != account.role or fields.status != account.status):
        problems.append((ROLE, _l("自分自身のユーザータイプとステータスは変更できません。")))
    for column, message in sorted(problems, key=lambda problem: problem[0]):
        error(column, message)
    if problems:
        return None
    if account is None:
        plan.operations.append(Operation(CREATE, number, email, fields, name=fields.name))
        return None
    changes = _changes(context, account, fields)
    plan.operations.append(Operation(UPDATE if changes else UNCHANGED, number, email, fields, account.id,
                                     name=account.name, changes=changes))
    return None


def _changes(context, account, fields):
    """[Change] of the fields `console_accounts.update` would change, in the file's column order."""
    fields.cleaned()
    changes = []
    for name in sorted(FIELD_COLUMNS, key=FIELD_COLUMNS.get):
        if name == "group":
            if account.group_id != fields.group_id:
                changes.append(Change(name, context.group_names.get(account.group_id, ""),
                                      context.group_names.get(fields.group_id, "")))
        elif getattr(account, name) != getattr(fields, name):
            changes.append(Change(name, getattr(account, name), getattr(fields, name)))
    return changes


def _fields(context, cells):
    problems = []
    role = ROLE_CODES.get(cells[ROLE])
    if role is None:
        problems.append((ROLE, _l("0（ユーザー）または1（管理者）を指定してください。")))
    status = STATUS_CODES.get(cells[STATUS])
    if status is None:
        problems.append((STATUS, _l("0（有効）または1（無効）を指定してください。")))
    group_id = context.groups.get(cells[GROUP])
    if not cells[GROUP]:
        problems.append((GROUP, _l("所属グループを入力してください。")))
    elif group_id is None:
        problems.append((GROUP, _l("グループ「%(name)s」が見つかりません。", name=cells[GROUP])))
    valid_from = _date(cells[VALID_FROM], VALID_FROM, problems, required=True)
    valid_to = _date(cells[VALID_TO], VALID_TO, problems, required=False)
    fields = console_accounts.AccountFields(
        name=cells[NAME], phone=cells[PHONE], mobile=cells[MOBILE], organization=cells[ORG],
        department=cells[DEPT], group_id=group_id, role=role, status=status, valid_from=valid_from,
        valid_to=valid_to)
    return fields, problems


def _date(value, column, problems, *, required):
    if not value:
        if required:
            problems.append((column, _l("日付を入力してください。")))
        return None
    try:
        return datetime.strptime(value, DATE_FORMAT).date()
    except ValueError:
        problems.append((column, _l("日付はyyyy/MM/ddの形式で入力してください。")))
        return None


def apply_plan(tenant, plan, *, now, actor, client=NO_CLIENT):
    """Run a validated plan in the current transaction; returns the counts. Unchanged rows are not
    written, and a plan that changes nothing writes nothing (not even its audit event). Activation
    mails are queued on the session and go out after the caller's commit."""
    if plan.errors:
        raise ValidationError({"file": [plan.errors[0].message]})
    lookups = console_accounts.TenantLookups(tenant)
    for op in plan.changing():
        if op.kind == CREATE:
            console_accounts.create(tenant, op.email, op.fields, now=now, actor=actor, client=client, lookups=lookups)
        elif op.kind == UPDATE:
            console_accounts.update(console_accounts.get_account(tenant, op.account_id), op.fields, now=now,
                                    actor=actor, client=client, lookups=lookups)
        else:
            delete_account(console_accounts.get_account(tenant, op.account_id), now=now, actor=actor, client=client)
    counts = plan.counts()
    if plan.changing():
        record_audit(tenant_id=tenant.id, actor=actor, action="account.csv_import", target_type="tenant", now=now,
                     changes={kind: counts[kind] for kind in (CREATE, UPDATE, DELETE_OP)}, client=client)
    return counts


def export(accounts, group_names):
    """The accounts as CSV bytes (UTF-8 with BOM, CRLF: what Excel opens correctly)."""
    roles = {v: k for k, v in ROLE_CODES.items()}
    statuses = {v: k for k, v in STATUS_CODES.items()}
    return _csv_bytes((
        a.email, a.name, roles[a.role], a.organization, a.department, group_names[a.group_id], a.mobile,
        a.phone, a.valid_from.strftime(DATE_FORMAT), a.valid_to.strftime(DATE_FORMAT) if a.valid_to else "",
        statuses[a.status], "0") for a in accounts)


def _csv_bytes(rows):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows([text_cell(cell) for cell in cells] for cells in rows)
    return out.getvalue().encode("utf-8-sig")


def export_for_admin(tenant, accounts, *, now, actor, client=NO_CLIENT):
    """The export of the console: the CSV, and an audit event saying who downloaded how many accounts."""
    record_audit(tenant_id=tenant.id, actor=actor, action="account.csv_export", target_type="tenant", now=now,
                 changes={"count": len(accounts)}, client=client)
    return export(accounts, group_names(tenant))


def template():
    return _csv_bytes([])


def sample(tenant, today):
    """The template with one example row that imports as it is: a new user in the tenant's default group,
    valid from `today`, with a mobile number (required when the group's MFA policy is SMS)."""
    return _csv_bytes([("yamada.taro@example.com", "山田 太郎", "0", "本社", "営業部", default_group(tenant).name,
                        "09012345678", "0312345678", today.strftime(DATE_FORMAT), "", "0", "0")])


def group_names(tenant):
    return dict(db.session.execute(select(Group.id, Group.name).where(Group.tenant_id == tenant.id)).all())
