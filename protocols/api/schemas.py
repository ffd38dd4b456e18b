"""The admin API's request and response bodies (pydantic; spectree validates requests with them and
makes the OpenAPI document's schemas from them).

Request models check types only (a number is a number, a date is a date, an enum is one of its values);
every rule about the values (required names, lengths, phone numbers, the SMS rule, dates in order, unique
e-mail addresses and group names) is the console's (idp.console.*), answered as 422 with `errors` per
field. Times are UTC (RFC 3339 with `Z`), dates are calendar dates in Japan."""
from datetime import date, datetime, timezone
from typing import Annotated, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from idp.console.account_search import LOCKED, SORTS, UNLOCKED
from idp.logs.labels import RESULTS
from idp.models.account import ROLES, STATUSES
from idp.platform.validation import MAX_ID

RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
Page = Annotated[int, Field(ge=1, le=10_000, description="1 = the first page")]
PerPage = Annotated[int, Field(ge=1, le=100)]
# days of a log filter: the console's period arithmetic (a day before and after, in Japan time) stays in range
LogDay = Annotated[date, Field(ge=date(1970, 1, 1), le=date(9998, 12, 31))]
Role = Literal[ROLES]
Status = Literal[STATUSES]


def utc(value):
    """A stored naive-UTC time as an aware one (None stays None)."""
    return value.replace(tzinfo=timezone.utc) if value is not None else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    """RFC 9457 problem details; `errors`: messages per field (validation)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: Optional[str] = None
    errors: Optional[dict[str, list[str]]] = None


# --- accounts ---------------------------------------------------------------------------------------

class AccountQuery(_Strict):
    """The console's account search: substrings of name, e-mail, organisation, department; exact group,
    role, status, lock state; sort key and direction; the page."""

    name: str = ""
    email: str = ""
    group: RowId = None
    role: Role = None
    status: Status = None
    lock: Literal[LOCKED, UNLOCKED] = None
    organization: str = ""
    department: str = ""
    sort: Literal[tuple(SORTS)] = "name"
    dir: Literal["asc", "desc"] = "asc"
    page: Page = 1
    per_page: PerPage = 50


class Account(BaseModel):
    id: int
    subject: str = Field(description="the stable `sub` of the account in ID tokens and SAML assertions")
    email: str
    name: str
    phone: str
    mobile: str
    organization: str
    department: str
    group_id: int
    group: str
    role: Role
    status: Status
    valid_from: date
    valid_to: Optional[date]
    activated: bool
    locked: bool
    mfa_method: Optional[str] = Field(description="the enrolled second factor (totp, sms) or null")
    last_login_at: Optional[datetime]
    created_at: datetime
    updated_at: datetime


class AccountList(BaseModel):
    items: list[Account]
    total: int
    page: int
    per_page: int
    pages: int


class AccountCreate(_Strict):
    """A new account; the activation mail goes out as from the console. Without `group_id`: the default
    group; without `valid_from`: today."""

    email: str
    name: str
    phone: str = ""
    mobile: str = ""
    organization: str = ""
    department: str = ""
    group_id: RowId = None
    role: str = "user"
    status: str = "enabled"
    valid_from: date = None
    valid_to: date = None


class AccountUpdate(_Strict):
    """The fields to change (the e-mail address cannot change); the others keep their values.
    `valid_to: null` removes the end date."""

    name: str = None
    phone: str = None
    mobile: str = None
    organization: str = None
    department: str = None
    group_id: RowId = None
    role: str = None
    status: str = None
    valid_from: date = None
    valid_to: Optional[date] = None


# --- groups -----------------------------------------------------------------------------------------

class GroupQuery(_Strict):
    q: str = Field("", description="a substring of the group name")
    page: Page = 1
    per_page: PerPage = 50


class GroupSummary(BaseModel):
    id: int
    name: str
    description: str
    is_default: bool
    members: int


class GroupList(BaseModel):
    items: list[GroupSummary]
    total: int
    page: int
    per_page: int
    pages: int


class AppRef(BaseModel):
    id: int
    name: str
    protocol: str


class Group(BaseModel):
    id: int
    name: str
    description: str
    is_default: bool
    members: int
    apps: list[AppRef]
    created_at: datetime


class GroupCreate(_Strict):
    name: str
    description: str = ""
    app_ids: list[RowId] = Field(default_factory=list, max_length=1000,
                                 description="the apps the group's members may use")


class GroupUpdate(_Strict):
    """The fields to change; `app_ids` replaces the group's apps."""

    name: str = None
    description: str = None
    app_ids: list[RowId] = Field(None, max_length=1000)


class MembersQuery(_Strict):
    page: Page = 1
    per_page: PerPage = 50


class MembersAdd(_Strict):
    account_ids: list[RowId] = Field(min_length=1, max_length=1000)


class MembersAdded(BaseModel):
    added: int = Field(description="accounts moved into the group (ids of other tenants and current members "
                                   "are ignored)")
    moved_from_other_groups: int = Field(description="of them, how many left a group other than the default")


# --- apps -------------------------------------------------------------------------------------------

class AppSummary(BaseModel):
    id: int
    name: str
    protocol: str
    identifier: str = Field(description="client_id, SAML entity ID or the bookmark's URL")
    groups: list[str]


class AppList(BaseModel):
    items: list[AppSummary]


class GroupRef(BaseModel):
    id: int
    name: str


class OidcSettings(BaseModel):
    client_id: str
    public: bool
    api_client: bool
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str]
    backchannel_logout_uri: str
    id_token_alg: str
    access_token_format: str
    allow_refresh: bool


class SamlSettings(BaseModel):
    entity_id: str
    acs_urls: list[str]
    slo_url: str
    nameid_format: str
    metadata_url: str


class App(BaseModel):
    id: int
    name: str
    protocol: str
    launch_url: str
    preset: Optional[str]
    groups: list[GroupRef]
    created_at: datetime
    updated_at: datetime
    oidc: Optional[OidcSettings] = None
    saml: Optional[SamlSettings] = None


# --- logs -------------------------------------------------------------------------------------------

class _LogQuery(_Strict):
    date_from: LogDay = Field(None, alias="from", description="first day (Japan), inclusive")
    date_to: LogDay = Field(None, alias="to", description="last day (Japan), inclusive")
    user: str = Field("", description="a substring of the login ID (login log) or of the actor (audit log)")
    page: Page = 1
    per_page: PerPage = 50


class LoginLogQuery(_LogQuery):
    app: RowId = None
    result: Literal[tuple(RESULTS)] = None


class AuditLogQuery(_LogQuery):
    action: str = Field("", description="an action code, e.g. account.update")


class LoginEntry(BaseModel):
    time: datetime
    user: str
    app: str
    method: str
    method_code: str
    result: str
    result_code: str
    reason: str
    reason_code: str
    ip: str


class LoginLog(BaseModel):
    items: list[LoginEntry]
    total: int
    page: int
    per_page: int
    pages: int


class ChangeLine(BaseModel):
    field: str
    text: str


class AuditEntry(BaseModel):
    time: datetime
    actor: str
    action: str
    action_code: str
    target: str
    changes: list[ChangeLine]
    recorded: dict


class AuditLog(BaseModel):
    items: list[AuditEntry]
    total: int
    page: int
    per_page: int
    pages: int
