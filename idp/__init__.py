"""The identity provider: `create_app()`, the composition root (docs/architecture.md).

`create_app()` builds the WSGI app (`gunicorn 'idp:create_app()'`). The core
never imports `admin_ui` or `protocols`; only this factory wires them in.
"""
import os

from flask import Flask

from idp import keys
from idp.catalog import presets as catalog_presets
from idp.platform import encryption, log_redaction, mail, proxies, ratelimit, schema
from idp.platform.clock import SystemClock
from idp.platform.config import (check_base_url, default_database_url, ensure_secret_file, load_config, parse_flag,
                                 private_folder)
from idp.platform.extensions import babel, csrf, db
from idp.provisioning import worker as provisioning_worker
from idp.web import (errors, form_session, form_translations, health, layout, metrics, request_log, security_headers,
                     url_input)
from idp.web.locale import select_locale
from idp.web.sso import load_sso_session


def _engine_options(database_url, settings):
    """A logged database error names the statement, never its values (hashes, digests, addresses). A SQLite
    file cannot go away under a pooled connection: no ping (a SELECT 1) before each use there."""
    return {"hide_parameters": True, "pool_pre_ping": not database_url.startswith("sqlite"),
            **settings.get("SQLALCHEMY_ENGINE_OPTIONS", {})}


def _init_web_glue(app, https):
    """Request glue of idp.web: headers, error pages, health and metrics, request lines, the SSO session."""
    form_translations.init_app(app)
    security_headers.init_app(app, https)
    errors.register_error_handlers(app)
    health.init_app(app)  # /healthz, /readyz
    metrics.init_app(app)  # /metrics
    request_log.init_app(app)  # X-Request-Id, request metrics, IDP_LOG_FORMAT
    layout.init_app(app)
    app.before_request(load_sso_session)


def _init_operator_side(app, serve_worker):
    """The schema at start-up and the `idp` commands (Flask-Migrate's `idp db` among them). A worker of
    `idp serve` has neither: its main process prepared the schema before starting it, and it serves requests
    only, so it never loads Alembic or the commands (docs/performance.md, Memory)."""
    if not serve_worker:
        from idp.platform.migrate import migrate
        migrate.init_app(app, db)  # `idp db …`; scripts in idp/migrations
    schema.init_app(app, prepare_schema=not serve_worker)
    if not serve_worker:
        from idp import cli
        cli.init_app(app)


def create_app(config=None):
    settings = load_config()
    settings.update(config or {})
    settings["IDP_BASE_URL"] = settings["IDP_BASE_URL"].rstrip("/")
    settings["IDP_MAIL_ASYNC"] = parse_flag("IDP_MAIL_ASYNC", settings["IDP_MAIL_ASYNC"])
    https = check_base_url(settings["IDP_BASE_URL"])
    trusted_proxies = proxies.parse_trusted_proxies(settings.get("IDP_TRUSTED_PROXIES"))
    instance_dir = settings["IDP_INSTANCE_DIR"]
    private_folder(instance_dir)  # 0700 from the start: secrets, the SQLite file, mails (issue 14)
    # every process that builds the app: `idp run` / `flask run` (werkzeug's request log), the workers of
    # `idp serve` (granian) and gunicorn's, also without idp/web/gunicorn_conf.py: no link token or ID
    # token hint in those logs
    log_redaction.install(__name__)  # the app's name: Flask's logger, without creating it (and its handler)

    app = Flask(__name__, instance_path=instance_dir, static_folder=None)
    url_input.init_app(app)  # before any route is added
    form_session.init_app(app)
    app.config.update(settings)
    database_url = settings["IDP_DATABASE_URL"] or default_database_url(instance_dir)
    app.config.update(
        SECRET_KEY=settings["IDP_SECRET_KEY"] or ensure_secret_file(os.path.join(instance_dir, "secret_key")),
        SQLALCHEMY_DATABASE_URI=database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(database_url, settings),
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
    catalog_presets.all_presets()  # a broken catalog preset stops the app here, naming its file (CatalogError)
    app.extensions["idp_clock"] = settings.get("IDP_CLOCK") or SystemClock()
    mail.init_app(app, settings.get("IDP_MAIL"))
    encryption.init_app(app, settings["IDP_KEY_ENCRYPTION_KEY"]
                        or ensure_secret_file(os.path.join(instance_dir, "key_encryption_key")))

    db.init_app(app)
    csrf.init_app(app)
    ratelimit.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    _init_web_glue(app, https)
    keys.init_app(app)
    import protocols
    protocols.init_app(app)
    provisioning_worker.init_app(app)  # SCIM push to apps: capture in the flush, the delivery thread
    _init_operator_side(app, settings.get("IDP_SERVE_WORKER", False))
    from admin_ui import init_app as init_admin_ui
    init_admin_ui(app)
    # outermost: everything inside sees the client's address and scheme as IDP_TRUSTED_PROXIES allows
    app.wsgi_app = proxies.wrap(app.wsgi_app, trusted_proxies)
    return app
