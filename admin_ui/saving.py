"""The tail every form view shares: call one service, then commit and flash, or hand back the errors.

    saved = save(lambda: update_profile(g.account, ...), _l("プロフィールを更新しました。"))
    if saved.ok:
        return redirect(url_for("portal.profile"))
    errors = saved.errors  # re-render the form with them

On success the session is committed (mail the service queued goes out then) and the message, if any,
is flashed as "info". On `ValidationError` (and `Conflict`, when the view names the field it belongs
to) nothing is flashed and `on_invalid` says what happens to the transaction:

- `ROLLBACK` (the default): nothing of the refused change stays;
- `COMMIT`: the service recorded something on the way that must stay (a wrong password's failure count);
- `None`: neither; the transaction ends with the request (for views whose service checks everything
  before it changes anything).

Any other error goes on to the error handler, which rolls back.
"""
from typing import NamedTuple

from flask import flash

from idp.platform.errors import Conflict, ValidationError
from idp.platform.extensions import db

ROLLBACK = "rollback"
COMMIT = "commit"


class Saved(NamedTuple):
    ok: bool
    value: object  # what the service returned (None when refused)
    errors: dict  # field -> messages ({} when saved)


def save(call, message=None, *, on_invalid=ROLLBACK, conflict_field=None):
    """Run `call()`; -> Saved. `conflict_field`: report a `Conflict` as this field's error."""
    try:
        value = call()
    except ValidationError as exc:
        return _refused(on_invalid, exc.errors)
    except Conflict as exc:
        if conflict_field is None:
            raise
        return _refused(on_invalid, {conflict_field: [exc.message]})
    db.session.commit()
    if message is not None:
        flash(message, "info")
    return Saved(True, value, {})


def _refused(on_invalid, errors):
    if on_invalid == ROLLBACK:
        db.session.rollback()
    elif on_invalid == COMMIT:
        db.session.commit()
    elif on_invalid is not None:
        raise ValueError(f"on_invalid={on_invalid!r}")
    return Saved(False, None, errors)
