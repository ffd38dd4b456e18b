"""SCIM list queries on our tables (RFC 7644 §3.4.2): a filter's syntax tree (scim2-models parses it) as
SQL conditions, sortBy as an ORDER BY, startIndex/count as a page; and the externalIds a client set.

Supported: eq ne co sw ew pr, and/or/not, on User userName, emails(.value), externalId, displayName,
name.formatted, active, id; on Group displayName, externalId, id, members(.value). String comparisons
ignore case (caseExact false); LIKE wildcards in values are escaped. Everything else is invalidFilter.
"""
from dataclasses import dataclass

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import CompareOperator, Comparison, FilterVisitor, LogicalOperator
from sqlalchemy import and_, exists, func, not_, or_, select, true

from idp.models import Account, Group
from idp.models.scim import ScimExternalId
from idp.platform.extensions import db

MAX_RESULTS = 200  # ServiceProviderConfig filter.maxResults: a larger count is cut to it
USER, GROUP = "User", "Group"


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


def _external_id_of(tenant, resource_type, key_column):
    return (select(ScimExternalId.external_id).where(
        ScimExternalId.tenant_id == tenant.id, ScimExternalId.resource_type == resource_type,
        ScimExternalId.resource_id == key_column).scalar_subquery())


def _text_condition(column, op, value):
    if not isinstance(value, str):
        if op in (CompareOperator.eq, CompareOperator.ne) and value is None:
            return column.is_(None) if op == CompareOperator.eq else column.is_not(None)
        raise InvalidFilterException(detail="this attribute takes a string")
    lowered, wanted = func.lower(column), value.lower()
    conditions = {
        CompareOperator.eq: lowered == wanted, CompareOperator.ne: lowered != wanted,
        CompareOperator.co: lowered.contains(wanted, autoescape=True),
        CompareOperator.sw: lowered.startswith(wanted, autoescape=True),
        CompareOperator.ew: lowered.endswith(wanted, autoescape=True),
    }
    if op not in conditions:
        raise InvalidFilterException(detail=f"the operator {op.value} is not supported on this attribute")
    return conditions[op]


def _boolean_condition(column_is_true, op, value):
    if not isinstance(value, bool) or op not in (CompareOperator.eq, CompareOperator.ne):
        raise InvalidFilterException(detail="active takes eq or ne with true or false")
    return column_is_true if (value if op == CompareOperator.eq else not value) else not_(column_is_true)


@dataclass
class _Attribute:
    column: object  # a column or scalar subquery (text); None for active
    present: object  # the condition of `pr`


class _SqlFilter(FilterVisitor):
    """A filter's syntax tree as one SQL condition on Account or Group."""

    def __init__(self, tenant, resource_type):
        self.tenant, self.resource_type = tenant, resource_type

    def _attribute(self, attr_path):
        name = (f"{attr_path.attr}.{attr_path.sub_attr}" if attr_path.sub_attr else attr_path.attr).lower()
        core = ("urn:ietf:params:scim:schemas:core:2.0:user", "urn:ietf:params:scim:schemas:core:2.0:group")
        if attr_path.uri and attr_path.uri.lower() not in core:
            name = ""
        columns = self._columns()
        if name not in columns:
            raise InvalidFilterException(detail=f"filtering on {attr_path} is not supported")
        return columns[name]

    def _columns(self):
        if self.resource_type == USER:
            external = _external_id_of(self.tenant, USER, Account.subject)
            return {"username": _Attribute(Account.email, true()), "emails": _Attribute(Account.email, true()),
                    "emails.value": _Attribute(Account.email, true()),
                    "displayname": _Attribute(Account.name, Account.name != ""),
                    "name.formatted": _Attribute(Account.name, Account.name != ""),
                    "id": _Attribute(Account.subject, true()),
                    "externalid": _Attribute(external, external.is_not(None)),
                    "active": _Attribute(None, true())}
        external = _external_id_of(self.tenant, GROUP, func.cast(Group.id, db.String))
        member = select(Account.subject).where(Account.tenant_id == self.tenant.id, Account.group_id == Group.id)
        return {"displayname": _Attribute(Group.name, true()), "id": _Attribute(func.cast(Group.id, db.String), true()),
                "externalid": _Attribute(external, external.is_not(None)),
                "members": _Attribute(member, exists(member)), "members.value": _Attribute(member, exists(member))}

    def visit_comparison(self, node):
        attribute = self._attribute(node.attr_path)
        if attribute.column is None:
            return _boolean_condition(Account.status == "enabled", node.op, node.value)
        if self.resource_type == GROUP and node.attr_path.attr.lower() == "members":
            if node.op != CompareOperator.eq or not isinstance(node.value, str):
                raise InvalidFilterException(detail="members takes eq with a user id")
            return exists(attribute.column.where(Account.subject == node.value))
        return _text_condition(attribute.column, node.op, node.value)

    def visit_present(self, node):
        return self._attribute(node.attr_path).present

    def visit_not(self, node):
        return not_(self.visit(node.expr))

    def visit_logical_expr(self, node):
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_value_path(self, node):
        inner = node.val_filter
        if not (isinstance(inner, Comparison) and inner.attr_path.attr.lower() == "value"
                and not inner.attr_path.sub_attr):
            raise InvalidFilterException(detail=f"only {node.attr_path}[value …] is supported")
        path = type(node.attr_path)(attr=node.attr_path.attr, sub_attr="value", uri=node.attr_path.uri)
        return self.visit_comparison(Comparison(attr_path=path, op=inner.op, value=inner.value))


def filter_condition(tenant, resource_type, expression):
    """The SQL condition of a filter string (None: no filter); InvalidFilterException when it cannot be one."""
    if expression is None or not expression.strip():
        return true()
    if len(expression) > 2000:
        raise InvalidFilterException(detail="the filter is too long")
    tree = ScimFilter(expression).ast
    return _SqlFilter(tenant, resource_type).visit(tree)


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
