"""The identity provider core: app factory, configuration, models and services.

`create_app()` builds the WSGI app (`gunicorn 'idp:create_app()'`). The core
never imports `admin_ui` or `protocols`; only this factory wires them in.
"""
import fcntl
import logging
import os

from flask import Flask, has_request_context, request
from sqlalchemy import event

from . import encryption, form_translations, mail, ratelimit, schema, security_headers
from .clock import SystemClock
from .config import check_base_url, default_database_url, ensure_secret_file, load_config, parse_flag
from .extensions import babel, csrf, db, migrate
from .web import load_sso_session, requested_ui_locale

LOCALES = ("ja", "en")
LANG_COOKIE = "lang"
log = logging.getLogger(__name__)


def create_app(config=None):
    settings = load_config()
    settings.update(config or {})
    settings["IDP_BASE_URL"] = settings["IDP_BASE_URL"].rstrip("/")
    settings["IDP_MAIL_ASYNC"] = parse_flag("IDP_MAIL_ASYNC", settings["IDP_MAIL_ASYNC"])
    https = check_base_url(settings["IDP_BASE_URL"])
    instance_dir = settings["IDP_INSTANCE_DIR"]
    os.makedirs(instance_dir, exist_ok=True)

    app = Flask(__name__, instance_path=instance_dir, static_folder=None)
    app.config.update(settings)
    app.config.update(
        SECRET_KEY=settings["IDP_SECRET_KEY"] or ensure_secret_file(os.path.join(instance_dir, "secret_key")),
        SQLALCHEMY_DATABASE_URI=settings["IDP_DATABASE_URL"] or default_database_url(instance_dir),
        IDP_HTTPS=https,
        SESSION_COOKIE_NAME="idp_form",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE="ja",
        BABEL_DEFAULT_TIMEZONE="Asia/Tokyo",
        BABEL_TRANSLATION_DIRECTORIES=os.path.join(os.path.dirname(__file__), "translations"),
        MAX_CONTENT_LENGTH=settings.get("MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
    )
    app.extensions["idp_clock"] = settings.get("IDP_CLOCK") or SystemClock()
    mail.init_app(app, settings.get("IDP_MAIL"))
    encryption.init_app(app, settings["IDP_KEY_ENCRYPTION_KEY"]
                        or ensure_secret_file(os.path.join(instance_dir, "key_encryption_key")))

    db.init_app(app)
    migrate.init_app(app, db)  # `idp db …`; scripts in idp/migrations
    csrf.init_app(app)
    ratelimit.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    form_translations.init_app(app)
    security_headers.init_app(app, https)
    app.before_request(load_sso_session)
    import keys
    keys.init_app(app)
    import protocols
    protocols.init_app(app)
    _init_database(app)

    from . import cli
    cli.init_app(app)
    from admin_ui import init_app as init_admin_ui
    init_admin_ui(app)
    return app


def select_locale():
    if not has_request_context():
        return "ja"
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    return requested_ui_locale(LOCALES) or request.accept_languages.best_match(LOCALES, default="ja")


def _init_database(app):
    """Create or upgrade the schema (idp.schema; serialised across workers by a file lock).

    Under `idp db …` the operator handles the schema: start-up leaves the database as it is.
    """
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        if schema.migration_command_running():
            return
        lock_path = os.path.join(app.instance_path, ".schema.lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                schema.prepare()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _sqlite_pragmas(dbapi_connection, _record):
    """WAL + busy timeout so the CLI works while the server runs on the same file."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: no fsync per commit; durable at checkpoints, never corrupt
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
