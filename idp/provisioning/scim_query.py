"""SCIM list queries on our tables (RFC 7644 §3.4.2): the filter as SQL conditions (scim_filter.py),
sortBy as an ORDER BY, startIndex/count as a page; and the externalIds a client set.
"""
from dataclasses import dataclass

from sqlalchemy import func, select

from idp.models import Account, Group
from idp.models.scim import GROUP, USER, ScimExternalId  # noqa: F401  (USER, GROUP: part of this API)
from idp.platform.extensions import db

MAX_RESULTS = 200  # ServiceProviderConfig filter.maxResults: a larger count is cut to it


def external_ids(tenant, resource_type, resource_ids):
    """{resource id: externalId} of the given resources."""
    ids = [str(value) for value in resource_ids]
    if not ids:
        return {}
    rows = db.session.execute(select(ScimExternalId.resource_id, ScimExternalId.external_id).where(
        ScimExternalId.tenant_id == tenant.id, ScimExternalId.resource_type == resource_type,
        ScimExternalId.resource_id.in_(ids))).all()
    return dict(rows)


def set_external_id(tenant, resource_type, resource_id, value):
    """Keep (or with None/"" forget) the externalId of a resource."""
    row = db.session.scalar(select(ScimExternalId).where(
        ScimExternalId.tenant_id == tenant.id, ScimExternalId.resource_type == resource_type,
        ScimExternalId.resource_id == str(resource_id)))
    value = (str(value).strip()[:255] if value is not None else "")
    if not value:
        if row is not None:
            db.session.delete(row)
        return
    if row is None:
        db.session.add(ScimExternalId(tenant_id=tenant.id, resource_type=resource_type,
                                      resource_id=str(resource_id), external_id=value))
    else:
        row.external_id = value


USER_SORT = {"username": Account.email_normalized, "emails": Account.email_normalized,
             "emails.value": Account.email_normalized, "displayname": Account.name, "name.formatted": Account.name,
             "meta.created": Account.created_at, "meta.lastmodified": Account.updated_at, "id": Account.subject}
GROUP_SORT = {"displayname": Group.name, "meta.created": Group.created_at, "id": Group.id}


def _order(resource_type, sort_by, sort_order):
    keys = USER_SORT if resource_type == USER else GROUP_SORT
    tiebreak = Account.id if resource_type == USER else Group.id
    column = keys.get((sort_by or "").lower().removeprefix("urn:ietf:params:scim:schemas:core:2.0:user:")
                      .removeprefix("urn:ietf:params:scim:schemas:core:2.0:group:"))
    if column is None:
        return (tiebreak,)
    descending = (sort_order or "").lower() == "descending"
    return (column.desc() if descending else column.asc(), tiebreak)


@dataclass
class Page:
    rows: list
    total: int
    start_index: int


def search(tenant, resource_type, *, filter_text=None, sort_by=None, sort_order=None, start_index=1, count=None):
    """One page of the tenant's accounts or groups: Page(rows, totalResults, startIndex) (RFC 7644 §3.4.2.4)."""
    from idp.provisioning.scim_filter import filter_condition  # scim2-models: loaded by SCIM requests only
    model = Account if resource_type == USER else Group
    where = [model.tenant_id == tenant.id, filter_condition(tenant, resource_type, filter_text)]
    total = db.session.scalar(select(func.count()).select_from(model).where(*where))
    start = max(1, start_index or 1)
    limit = MAX_RESULTS if count is None else max(0, min(count, MAX_RESULTS))
    rows = db.session.scalars(select(model).where(*where).order_by(*_order(resource_type, sort_by, sort_order))
                              .offset(start - 1).limit(limit)).all() if limit else []
    return Page(rows, total, start)


def members_of(tenant, groups):
    """{group id: [accounts]} of the given groups, by name."""
    ids = [group.id for group in groups]
    found = {group_id: [] for group_id in ids}
    if ids:
        for account in db.session.scalars(select(Account).where(
                Account.tenant_id == tenant.id, Account.group_id.in_(ids)).order_by(Account.name, Account.id)):
            found[account.group_id].append(account)
    return found


def account_by_subject(tenant, subject):
    return db.session.scalar(select(Account).where(Account.tenant_id == tenant.id, Account.subject == subject))


def accounts_by_subjects(tenant, subjects):
    wanted = {str(subject) for subject in subjects}
    if not wanted:
        return []
    return db.session.scalars(select(Account).where(Account.tenant_id == tenant.id,
                                                    Account.subject.in_(wanted))).all()


def group_by_id(tenant, group_id):
    try:
        number = int(group_id)
    except (TypeError, ValueError):
        return None
    if not 0 < number < 2**31:
        return None
    group = db.session.get(Group, number)
    return group if group is not None and group.tenant_id == tenant.id else None
