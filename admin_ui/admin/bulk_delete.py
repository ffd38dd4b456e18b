"""Deleting the ticked rows of a list (accounts, groups) takes two POSTs: the first shows what will be
deleted, the second (confirm=1, from that page) deletes, commits and goes back to the list."""
from flask import flash, g, redirect, render_template, request, url_for

from admin_ui.admin.access import audit_context, selected_ids
from admin_ui.admin.forms import ConfirmForm
from idp.platform.clock import current_time
from idp.platform.extensions import db


def bulk_delete(list_endpoint, template, *, none_selected, confirm_items, delete, done, left_out=None):
    """`confirm_items(tenant, ids)`: the {id, label} of the confirmation page; `delete(tenant, ids, now=,
    actor=, client=)`: the service, whose result `done(result)` turns into the flashed message;
    `left_out(tenant, ids)`: the {id, label} of ticked rows that may not be deleted (the admin's own
    account, the default group): they are taken out of both steps and the page names them (`excluded`), without a
    delete button when nothing else is left."""
    form = ConfirmForm()
    ids = selected_ids()
    if not form.validate_on_submit() or not ids:
        flash(none_selected, "error")
        return redirect(url_for(list_endpoint))
    excluded = left_out(g.tenant, ids) if left_out else []
    ids = [i for i in ids if i not in {item["id"] for item in excluded}]
    if request.form.get("confirm") != "1" or not ids:
        return render_template(template, form=form, items=confirm_items(g.tenant, ids) if ids else [],
                               excluded=excluded)
    actor, client = audit_context()
    result = delete(g.tenant, ids, now=current_time(), actor=actor, client=client)
    db.session.commit()
    flash(done(result), "info")
    return redirect(url_for(list_endpoint))
