"""The console's search lists (accounts, logs, a group's add-members dialog): the filters from the
query string, one page of the service's results, and the filters again as link arguments
(pagination, CSV download) for the template."""
from flask import g, render_template, request

from admin_ui.admin.access import page_number


def render_search(template, filter_class, search, now, **values):
    """Render `template` with page, filters and args of `search(tenant, filters, now=, page=)`."""
    filters = filter_class.from_args(request.args)
    page = search(g.tenant, filters, now=now, page=page_number())
    return render_template(template, page=page, filters=filters, args=filters.as_args(), **values)
