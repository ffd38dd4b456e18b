"""Outgoing mail: rendered from templates, sent after the database commit.

Transports: `outbox` writes each message as an .eml file to {instance}/outbox/
(the embedded default), `smtp://[user:pass@]host:port[?starttls=1]` and
`smtps://…` send for real. Messages queued inside a transaction are sent only
if that transaction commits (a savepoint's mail waits for the outer commit and is
dropped with the savepoint), so a rolled-back change never mails a dead link.

Delivery runs on a background thread when IDP_MAIL_ASYNC is on (the server
default): a request never waits for the mail server, so pages such as the
password-reset request answer in the same time whether or not a mail goes out.
"""
import atexit
import itertools
import logging
import os
import queue
import secrets
import smtplib
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

log = logging.getLogger(__name__)
_QUEUE_KEY = "idp_outgoing_mail"
_COMMITTED_KEY = "idp_committed_transactions"


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
    """Render mail/{template}.txt; its first line is 'Subject: …'."""
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
    return message


class Dispatcher:
    """Hands messages to the transport, on a worker thread when asynchronous."""

    def __init__(self, transport, asynchronous):
        self.transport = transport
        self.asynchronous = asynchronous
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._worker_pid = None

    def submit(self, message):
        if not self.asynchronous:
            self._deliver(message)
            return
        self._ensure_worker()
        self._queue.put(message)

    def flush(self, timeout=30):
        """Wait until every submitted message was handed to the transport (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def _ensure_worker(self):
        with self._lock:  # one worker per process, also after a fork (gunicorn --preload)
            if self._worker_pid != os.getpid():
                self._worker_pid = os.getpid()
                threading.Thread(target=self._run, name="idp-mail", daemon=True).start()
                atexit.register(self.flush, 10)

    def _run(self):
        while True:
            message = self._queue.get()
            try:
                self._deliver(message)
            finally:
                self._queue.task_done()

    def _deliver(self, message):
        try:
            self.transport.send(message)
        except Exception:  # a mail server outage must never break the request
            log.exception("mail delivery failed (subject=%r)", message["Subject"])


def init_app(app, transport=None):
    app.extensions["idp_mail"] = Dispatcher(transport or transport_from_config(app.config),
                                            asynchronous=app.config["IDP_MAIL_ASYNC"])


def flush(app, timeout=30):
    app.extensions["idp_mail"].flush(timeout)


# --- per-transaction queue ------------------------------------------------------------------------
# session.info[_QUEUE_KEY] maps each open SessionTransaction (the root or a savepoint) to the
# (dispatcher, message) pairs queued while it was the innermost one. When a transaction ends,
# its messages are dropped unless it committed: a committed savepoint hands them to its parent,
# a committed root transaction sends them.

def send_after_commit(session, message):
    """Queue a message on the database session; it goes out when the transaction commits."""
    if isinstance(session, scoped_session):
        session = session()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    pending = session.info.setdefault(_QUEUE_KEY, {})
    pending.setdefault(transaction, []).append((current_app.extensions["idp_mail"], message))


def _innermost(session):
    return session.get_nested_transaction() or session.get_transaction()


@event.listens_for(Session, "after_commit")
def _mark_committed(session):
    if session.info.get(_QUEUE_KEY):
        session.info.setdefault(_COMMITTED_KEY, set()).add(_innermost(session))


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session, transaction):
    pending = session.info.get(_QUEUE_KEY)
    if not pending:
        return
    committed = session.info.get(_COMMITTED_KEY, set())
    was_committed = transaction in committed
    committed.discard(transaction)
    messages = pending.pop(transaction, [])
    if not was_committed or not messages:
        return
    if transaction.nested and transaction.parent is not None:
        pending.setdefault(transaction.parent, []).extend(messages)
        return
    for dispatcher, message in messages:
        dispatcher.submit(message)
