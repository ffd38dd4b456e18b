"""Outgoing mail: rendered from templates, queued in the database, sent after the commit.

Transports: `outbox` writes each message as an .eml file to {instance}/outbox/
(the embedded default), `smtp://[user:pass@]host:port[?starttls=1]` and
`smtps://…` send for real.

`send_after_commit` writes the message to the `outbox_messages` table in the caller's
transaction (idp.platform.outbox): a rolled-back change (or savepoint) never mails a dead
link, and a committed one is never lost. Once the transaction commits, this process tries to
deliver the rows it just made; a failed attempt stays in the table and is retried with backoff
by the sweep (every SWEEP_SECONDS in each serving process) or `idp mail deliver`.

Delivery runs on a background thread when IDP_MAIL_ASYNC is on (the server
default): a request never waits for the mail server, so pages such as the
password-reset request answer in the same time whether or not a mail goes out.
The same thread sweeps the table for due retries (mail and SMS).
"""
import email
import email.policy
import itertools
import logging
import os
import secrets
import smtplib
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, scoped_session

from idp.platform import outbox, sms
from idp.platform.background import BackgroundWorker
from idp.platform.clock import current_time
from idp.platform.config import default_mail_from

log = logging.getLogger(__name__)
_ROWS_KEY = "idp_outbox_rows"
SWEEP_SECONDS = 30  # how often each serving process looks for due retries
TENANT_ATTRIBUTE = "idp_tenant_id"


class OutboxTransport:
    def __init__(self, directory):
        self.directory = directory

    _sequence = itertools.count()

    def send(self, message):
        """Write one file, readable by the owner only; names sort in sending order."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        name = f"{time.time_ns():020d}-{next(self._sequence):06d}-{secrets.token_hex(4)}.eml"
        path = os.path.join(self.directory, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(message.as_bytes())
        return path


class SmtpTransport:
    def __init__(self, url, timeout=10):
        parts = urlsplit(url)
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = parse_qs(parts.query).get("starttls", ["0"])[0] in ("1", "true", "yes")
        self.timeout = timeout

    def send(self, message):
        cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
        with cls(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


def transport_from_config(config):
    spec = config["IDP_MAIL_TRANSPORT"]
    if spec == "outbox":
        return OutboxTransport(os.path.join(config["IDP_INSTANCE_DIR"], "outbox"))
    if spec.startswith(("smtp://", "smtps://")):
        return SmtpTransport(spec)
    raise ValueError(f"IDP_MAIL_TRANSPORT must be 'outbox' or an smtp:// URL, got {spec!r}")


def build_message(to, template, **context):
    """Render mail/{template}.txt; its first line is 'Subject: …'. The tenant the mail is about (whose
    admin sees it if it cannot be delivered) rides along as the message's `idp_tenant_id` attribute."""
    product = current_app.config["IDP_PRODUCT_NAME"]
    text = current_app.jinja_env.get_template(f"mail/{template}.txt").render(product=product, **context)
    first, _, body = text.partition("\n")
    message = EmailMessage()
    message["Subject"] = first.removeprefix("Subject:").strip()
    message["From"] = current_app.config["IDP_MAIL_FROM"]
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="idp.local")
    message.set_content(body.lstrip("\n"), charset="utf-8")
    setattr(message, TENANT_ATTRIBUTE, tenant_of(context))
    return message


def tenant_of(context):
    """The id of the tenant a mail's context is about: its `tenant`, else the one tenant of its account,
    owner or reset links; None when there is none (a sign-up) or several."""
    tenant = context.get("tenant")
    if getattr(tenant, "id", None):
        return tenant.id
    links = context.get("resets") or ()
    holders = [context.get("account"), context.get("owner"),
               *(getattr(link, "account", None) or getattr(link, "owner", None) for link in links)]
    ids = {getattr(holder, "tenant_id", None) for holder in holders} - {None}
    return ids.pop() if len(ids) == 1 else None


class Dispatcher(BackgroundWorker):
    """Delivers the outbox rows a commit made (on the background thread when asynchronous) and, every
    `sweep_seconds` (0: never), every due row of the table: retries of mail and SMS."""
    thread_name = "idp-mail"

    def __init__(self, app, transport, asynchronous, sweep_seconds):
        super().__init__(app, sweep_seconds)
        self.transport = transport
        self.asynchronous = asynchronous

    def channels(self):
        return {outbox.MAIL: outbox.Channel(self._send_stored, log), outbox.SMS: sms.channel()}

    def _send_stored(self, _recipient, payload):
        self.transport.send(email.message_from_bytes(payload, policy=email.policy.default))

    def submit(self, ids):
        """Deliver the committed rows `ids`: now, or on the worker thread."""
        if not self.asynchronous:
            self.deliver(ids)
            return
        self.put(ids)

    def deliver(self, ids=None):
        """Claim and send the rows `ids` (None: every due row); counts, or None when the database failed.
        Needs an app context; never raises (a mail outage must not break a request)."""
        try:
            if ids is None:
                return outbox.deliver_due(self.channels(), current_time())
            return outbox.deliver(ids, self.channels(), current_time())
        except Exception:
            log.exception("outbox delivery interrupted (the messages stay queued)")
            return None


def init_app(app, transport=None):
    """The dispatcher; the sender defaults to no-reply@<host of IDP_BASE_URL>; the periodic sweep runs in
    every serving process (started by its first request), not under TESTING unless IDP_MAIL_SWEEP_SECONDS."""
    app.config["IDP_MAIL_FROM"] = app.config.get("IDP_MAIL_FROM") or default_mail_from(app.config["IDP_BASE_URL"])
    sweep_seconds = app.config.get("IDP_MAIL_SWEEP_SECONDS", 0 if app.testing else SWEEP_SECONDS)
    dispatcher = Dispatcher(app, transport or transport_from_config(app.config),
                            asynchronous=app.config["IDP_MAIL_ASYNC"], sweep_seconds=sweep_seconds)
    app.extensions["idp_mail"] = dispatcher
    if sweep_seconds:
        app.before_request(dispatcher.ensure_worker)


def flush(app, timeout=30):
    app.extensions["idp_mail"].flush(timeout)


# --- after the commit -----------------------------------------------------------------------------
# session.info[_ROWS_KEY] holds the (dispatcher, row) pairs added by send_after_commit in the session's
# current root transaction. When it ends, rows still persistent were committed (a rolled-back transaction
# or savepoint makes its new rows transient again): their ids go to the dispatcher.

def send_after_commit(session, message):
    """Write a message to the outbox in the session's transaction; it goes out once that commits."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()
    row = outbox.add(session, outbox.MAIL, message["To"], message.as_bytes(),
                     tenant_id=getattr(message, TENANT_ATTRIBUTE, None), now=current_time())
    session.info.setdefault(_ROWS_KEY, []).append((current_app.extensions["idp_mail"], row))


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session, transaction):
    if transaction.parent is not None or not session.info.get(_ROWS_KEY):
        return
    committed = {}
    for dispatcher, row in session.info.pop(_ROWS_KEY):
        state = inspect(row)
        if state.persistent and state.identity:
            committed.setdefault(dispatcher, []).append(state.identity[0])
    for dispatcher, ids in committed.items():
        dispatcher.submit(ids)
