"""The push worker of each serving process, beside the mail thread (idp.platform.mail).

`init_app` registers the capture (idp.provisioning.changes) and this process's Pusher. After a commit that
queued rows, the Pusher is told: on its own thread when asynchronous (IDP_PROVISIONING_ASYNC, by default as
IDP_MAIL_ASYNC: on in servers), so a page never waits for an app's SCIM server; the same thread sweeps the
queue every SWEEP_SECONDS for retries (started by the process's first request, as the mail sweep is).
`idp provisioning deliver` sweeps once (cron).
"""
import logging

from flask import current_app, has_app_context
from sqlalchemy import event

from idp.platform.background import BackgroundWorker
from idp.platform.clock import current_time
from idp.platform.extensions import db
from idp.provisioning import changes
from idp.provisioning import queue as changes_queue

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30


class Pusher(BackgroundWorker):
    thread_name = "idp-provisioning"

    def __init__(self, app, asynchronous, sweep_seconds):
        super().__init__(app, sweep_seconds)
        self.asynchronous = asynchronous
        self.targets = {}  # tenant id -> (config version, {app id: deprovision}): changes.enabled_targets

    def deliver(self, _item=None):
        """One sweep (needs an app context); the counts, or None when it was interrupted. Never raises."""
        try:
            return changes_queue.deliver_due(current_time())
        except Exception:
            log.exception("provisioning delivery interrupted (the changes stay queued)")
            return None

    def submit(self):
        """Rows were committed: send them now, or on the worker thread."""
        if not self.asynchronous:
            self.deliver()
            return
        self.put(None)


def init_app(app):
    """The capture's listeners and this app's Pusher (not sweeping under TESTING unless configured)."""
    changes.register()
    if not _listening:
        event.listen(db.session, "after_commit", _committed)
        event.listen(db.session, "after_soft_rollback", _rolled_back)
        _listening.append(True)
    asynchronous = app.config.get("IDP_PROVISIONING_ASYNC", app.config.get("IDP_MAIL_ASYNC", True))
    sweep_seconds = app.config.get("IDP_PROVISIONING_SWEEP_SECONDS", 0 if app.testing else SWEEP_SECONDS)
    pusher = Pusher(app, asynchronous=asynchronous, sweep_seconds=sweep_seconds)
    app.extensions[changes.EXTENSION] = pusher
    if sweep_seconds:
        app.before_request(pusher.ensure_worker)


_listening = []


def _committed(session):
    """After a commit that queued rows: tell this app's Pusher (no SQL here: it uses its own connections)."""
    if session.info.pop(changes.QUEUED, False) and has_app_context() and changes.EXTENSION in current_app.extensions:
        current_app.extensions[changes.EXTENSION].submit()


def _rolled_back(session, previous_transaction):
    if previous_transaction.parent is None:
        session.info.pop(changes.QUEUED, None)
