"""A SCIM filter (RFC 7644 §3.4.2.2) as one SQL condition: scim2-models parses it, `_SqlFilter` walks
the syntax tree. Apart from scim_query.py so that only a process answering SCIM requests loads
scim2-models (~11 MB; docs/performance.md, Memory).

Supported: eq ne co sw ew pr, and/or/not, on User userName, emails(.value), externalId, displayName,
name.formatted, active, id; on Group displayName, externalId, id, members(.value). String comparisons
ignore case (caseExact false); LIKE wildcards in values are escaped. Everything else is invalidFilter.
"""
from dataclasses import dataclass

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path import CompareOperator, Comparison, FilterVisitor, LogicalOperator
from sqlalchemy import and_, exists, func, not_, or_, select, true

from idp.models import Account, Group
from idp.models.scim import GROUP, USER, ScimExternalId
from idp.platform.extensions import db


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
