"""Groups: search list, create/edit (name, description, apps), detail, add and remove members, delete many."""
from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from admin_ui.admin import bp
from admin_ui.admin.access import admin_required, audit_context, page_number, selected_ids
from admin_ui.admin.bulk_delete import bulk_delete
from admin_ui.admin.forms import ConfirmForm, GroupForm
from admin_ui.admin.listing import render_search
from admin_ui.saving import save
from idp.console import account_search
from idp.console import group_members as console_members
from idp.console import groups as console_groups
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.platform.validation import parse_ids


@bp.route("/groups")
@admin_required
def groups():
    query = (request.args.get("q") or "").strip()[:100]
    page = console_groups.search_groups(g.tenant, query, page=page_number())
    return render_template("admin/groups/list.html", page=page, q=query, args={"q": query} if query else {},
                           form=ConfirmForm())


@bp.route("/groups/new", methods=["GET", "POST"])
@admin_required
def group_new():
    return _group_form(GroupForm(), None)


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@admin_required
def group_edit(group_id):
    group = console_groups.get_group(g.tenant, group_id)
    return _group_form(GroupForm(obj=group), group)


def _group_form(form, group):
    """Shared by create and edit."""
    errors = {}
    app_ids = parse_ids(request.form.getlist("apps"))
    if app_ids is None:
        abort(400)
    if form.validate_on_submit():
        actor, client = audit_context()
        values = dict(name=form.name.data, description=form.description.data, app_ids=app_ids,
                      now=current_time(), actor=actor, client=client)
        created = group is None
        message = _l("グループを登録しました。続けてメンバーを追加できます。") if created else _l("グループを保存しました。")
        saved = save(lambda: _create_or_update(group, values), message, conflict_field="name")
        if saved.ok:  # creation goes on with the members dialog
            endpoint = "admin.group_members" if created else "admin.group_detail"
            return redirect(url_for(endpoint, group_id=saved.value.id))
        errors = saved.errors
    elif group is not None:
        app_ids = [app.id for app in group.apps]
    return render_template("admin/groups/form.html", form=form, errors=errors, group_id=group.id if group else None,
                           apps=console_groups.app_choices(g.tenant), selected_apps=set(app_ids))


def _create_or_update(group, values):
    if group is None:
        return console_groups.create_group_with_apps(g.tenant, **values)
    console_groups.update_group(group, **values)
    return group


@bp.route("/groups/<int:group_id>")
@admin_required
def group_detail(group_id):
    group = console_groups.get_group(g.tenant, group_id)
    return render_template("admin/groups/detail.html", group=console_groups.group_values(group))


@bp.route("/groups/<int:group_id>/members", methods=["GET", "POST"])
@admin_required
def group_members(group_id):
    """The add-members dialog: search the accounts not in the group, tick them (or all), add them; each row
    says which group adding moves it out of. Refused as a whole when the SMS policy lacks mobile numbers."""
    group = console_groups.get_group(g.tenant, group_id)
    form = ConfirmForm()
    ids, refused = [], None
    if form.validate_on_submit():
        ids = selected_ids()
        if not ids:
            flash(_l("追加するアカウントを選択してください。"), "error")
            return redirect(request.full_path.rstrip("?"))
        actor, client = audit_context()
        try:
            added = console_members.add_members(group, ids, now=current_time(), actor=actor, client=client)
        except console_members.MobileMissing as exc:
            db.session.rollback()
            refused = exc
        else:
            db.session.commit()
            flash(_added_message(added), "info")
            return redirect(url_for("admin.group_detail", group_id=group.id))
    return render_search("admin/groups/members.html", account_search.AccountFilter, _candidates_of(group),
                         current_time(), form=form, group=console_members.dialog_values(group), refused=refused,
                         selected=set(ids))


def _candidates_of(group):
    """The add-members search in the shape `render_search` calls: (tenant, filters, now=, page=)."""
    return lambda _tenant, filters, *, now, page: console_members.candidates(group, filters, now=now, page=page)


def _added_message(added):
    if added.from_other_groups:
        return _l("%(n)d人をグループに追加しました（うち%(moved)d人はほかのグループから移動しました）。",
                  n=added.added, moved=added.from_other_groups)
    return _l("%(n)d人をグループに追加しました。", n=added.added)


@bp.route("/groups/<int:group_id>/members/remove", methods=["POST"])
@admin_required
def group_members_remove(group_id):
    """Take the ticked members out: the first POST shows that they go to the default group, the second
    (confirm=1) moves them there."""
    group = console_groups.get_group(g.tenant, group_id)
    ids = selected_ids()
    if not ConfirmForm().validate_on_submit() or not ids:
        flash(_l("グループから外すメンバーを選択してください。"), "error")
        return redirect(url_for("admin.group_detail", group_id=group.id))
    page = {"id": group.id, "name": group.name}
    try:
        if request.form.get("confirm") != "1":
            planned = console_members.removal(group, ids)
            return render_template("admin/groups/remove.html", group=page, fallback=planned.fallback.name,
                                   members=[{"id": a.id, "label": f"{a.name}（{a.email}）"} for a in planned.members])
        actor, client = audit_context()
        done = console_members.remove_members(group, ids, now=current_time(), actor=actor, client=client)
    except console_members.MobileMissing as exc:
        db.session.rollback()
        return render_template("admin/groups/remove.html", group=page, refused=exc)
    moved, fallback = len(done.members), done.fallback.name
    db.session.commit()
    flash(_l("%(n)d人をグループから外し、デフォルトグループ「%(name)s」に移動しました。", n=moved, name=fallback), "info")
    return redirect(url_for("admin.group_detail", group_id=group.id))


@bp.route("/groups/delete", methods=["POST"])
@admin_required
def groups_delete():
    """First POST shows the confirmation; the second (confirm=1) deletes and moves the members. A ticked
    default group (select-all) is left out with a note on the confirmation page; the others are deleted."""
    return bulk_delete(
        "admin.groups", "admin/groups/delete.html", none_selected=_l("削除するグループを選択してください。"),
        confirm_items=lambda tenant, ids: [{"id": grp.id, "label": grp.name}
                                           for grp in console_groups.groups_for_deletion(tenant, ids)],
        delete=console_groups.delete_groups,
        done=lambda moved: _l("グループを削除しました（%(n)d人をデフォルトグループに移動しました）。", n=moved),
        left_out=lambda tenant, ids: [{"id": grp.id, "label": grp.name}
                                      for grp in console_groups.default_among(tenant, ids)])
