"""One page of a list: LIMIT/OFFSET on an ordered query, plus one COUNT over the same filters.

The callers (account search, groups, logs) bound every query by the tenant and order it by an
indexed key plus the row id, so a page is stable and cheap to fetch.
"""
from dataclasses import dataclass, field
from math import ceil

from idp.platform.extensions import db


@dataclass
class Page:
    rows: list
    total: int
    page: int
    per_page: int
    pages: int = field(init=False)

    def __post_init__(self):
        self.pages = max(1, ceil(self.total / self.per_page))


def contains(column, text):
    """`column LIKE %text%` with the LIKE wildcards in `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def fetch_page(query, count_query, *, page, per_page, values):
    """Page `page` (1 = first; lower numbers count as 1) of `query`, each row as `values(*row)`."""
    page = max(1, page)
    total = db.session.scalar(count_query)
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page))
    return Page([values(*row) for row in rows], total, page, per_page)
