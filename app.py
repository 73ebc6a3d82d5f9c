"""Application factory: configuration, extensions, blueprints and CLI. Nothing else."""
from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from flask import Flask
from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from core.auditkey import AuditKeys
from core.db import db
from core.params import BoundedIntConverter

ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / "data"
DEMO_DATABASE_URL = f"sqlite:///{DATA_DIR / 'programmamonitor.db'}"

migrate = Migrate(directory=str(ROOT / "migrations"), render_as_batch=True)
csrf = CSRFProtect()
babel = Babel()


#: Whoever guesses the key can sign a session cookie for any user, so it must be long and random.
MIN_SECRET_KEY_LENGTH = 32


def _secret_key(database_url: str) -> str:
    """SECRET_KEY from the environment; only the local demo database may make its own."""
    return _key_from_environment("SECRET_KEY", database_url, MIN_SECRET_KEY_LENGTH, "verplicht buiten de demo")


def _audit_key(database_url: str) -> str:
    """AUDIT_KEY from the environment, like SECRET_KEY: only the local demo database may make its own.

    Kept out of the database on purpose: whoever can write the database but lacks the key cannot
    rewrite the audit trail and re-sign it (core.audit).
    """
    from core.auditkey import MIN_AUDIT_KEY_LENGTH

    return _key_from_environment("AUDIT_KEY", database_url, MIN_AUDIT_KEY_LENGTH,
                                 "verplicht buiten de demo; bewaar hem buiten de database")


def _key_from_environment(name: str, database_url: str, minimum: int, why: str) -> str:
    """A secret key from the environment variable `name`, at least `minimum` long outside the demo.

    Only the local demo database may make its own, kept in data/.<name in lower case> (mode 0600).
    """
    key = os.environ.get(name)
    demo = database_url == DEMO_DATABASE_URL
    if key:
        if len(key) < minimum and not demo:
            raise RuntimeError(
                f"{name} is te kort: gebruik minstens {minimum} willekeurige tekens, "
                "bijvoorbeeld de uitvoer van: python -c 'import secrets; print(secrets.token_hex(32))'."
            )
        return key
    if not demo:
        raise RuntimeError(f"{name} ontbreekt: zet de omgevingsvariabele {name} ({why}).")
    key_file = DATA_DIR / f".{name.lower()}"
    if not key_file.exists():
        DATA_DIR.mkdir(exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _test_audit_key(config: dict) -> str:
    # Tests, benchmarks and screenshots build their app from a dict; without an AUDIT_KEY of their
    # own they get one derived from their SECRET_KEY, so every app on one test database agrees.
    return config.get("AUDIT_KEY") or hashlib.sha256(f"audit:{config.get('SECRET_KEY', '')}".encode()).hexdigest()


def create_app(test_config: dict | None = None) -> Flask:
    """Create the Flask application; `test_config` replaces configuration from the environment."""
    app = Flask(__name__, template_folder="core/templates", static_folder="core/static")
    # Before any route exists: every `<int:...>` is then bounded, so /projecten/2147483648 is a
    # 404 instead of an "integer out of range" from the database.
    app.url_map.converters["int"] = BoundedIntConverter
    app.config.from_mapping(
        BABEL_DEFAULT_LOCALE="nl",
        BABEL_DEFAULT_TIMEZONE="Europe/Amsterdam",
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,  # uploads (the Excel import); larger gets the Dutch 413 page
        PERMANENT_SESSION_LIFETIME=12 * 60 * 60,
        RATELIMIT_STORAGE_URI="memory://",
    )
    if test_config is None:
        url = os.environ.get("DATABASE_URL", DEMO_DATABASE_URL)
        if url.startswith("postgresql"):
            # An unreachable server must answer 503 within seconds, not hang the worker.
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}}
        app.config.update(
            SQLALCHEMY_DATABASE_URI=url,
            SECRET_KEY=_secret_key(url),
            AUDIT_KEY=_audit_key(url),
            AUDIT_KEY_PREVIOUS=os.environ.get("AUDIT_KEY_PREVIOUS", ""),
            SESSION_COOKIE_SECURE=os.environ.get("SESSION_COOKIE_SECURE", "0") == "1",
            # /metrics answers only with this bearer token (core.health); without it, it does not exist.
            METRICS_TOKEN=os.environ.get("METRICS_TOKEN", ""),
            RATELIMIT_STORAGE_URI=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
            # Apart from other apps' counters in the same Redis.
            RATELIMIT_KEY_PREFIX=os.environ.get("RATELIMIT_KEY_PREFIX", "programmamonitor"),
            # Mail for the reporting rounds (rounds.mail); without MAIL_SERVER mail is off.
            **{name: os.environ.get(name, "") for name in (
                "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_FROM", "BASE_URL")},
        )
        from core import sso

        sso.configure(app, os.environ)
        proxies = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
        if proxies:
            # Behind a TLS proxy: take the client address and https from its X-Forwarded-* headers,
            # so HSTS, secure redirects and per-address login limits see the real request.
            app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    else:
        app.config.update(test_config)
        app.config["AUDIT_KEY"] = _test_audit_key(test_config)
    app.extensions["audit_keys"] = AuditKeys.from_text(app.config["AUDIT_KEY"],
                                                       app.config.get("AUDIT_KEY_PREVIOUS", ""))

    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=lambda: "nl")

    from core import web
    from core.auth import limiter, login_manager

    login_manager.init_app(app)
    limiter.init_app(app)
    web.init_app(app)
    from core import logs, metrics

    if test_config is None and os.environ.get("LOG_FORMAT", "json") == "json":
        logs.use_json()
    logs.init_app(app)
    metrics.init_app(app)
    _register_blueprints(app)
    _register_cli(app)
    _register_template_helpers(app)
    return app


def _register_blueprints(app: Flask) -> None:
    # Importing every model registers its table on the metadata (Alembic autogenerate).
    import budget.integrity  # noqa: F401 - registers the ledger's checks on every backup and restore
    import budget.models  # noqa: F401
    import core.audit  # noqa: F401
    import core.once  # noqa: F401
    import projects.models  # noqa: F401
    import approvals.models  # noqa: F401
    import reports.models  # noqa: F401
    import rounds.models  # noqa: F401
    import scenarios.models  # noqa: F401
    from budget.views import bp as budget_bp
    from core.admin import bp as users_bp
    from core.auth import bp as auth_bp
    from core.health import bp as health_bp
    from core.history import bp as audit_bp
    from projects.views import bp as projects_bp
    from reports.views import bp as reports_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(budget_bp)
    app.register_blueprint(projects_bp)
    app.register_blueprint(reports_bp)
    from imports.views import bp as imports_bp

    app.register_blueprint(imports_bp)
    from approvals.views import bp as approvals_bp
    from rounds.views import bp as rounds_bp

    app.register_blueprint(rounds_bp)
    app.register_blueprint(approvals_bp)
    from scenarios import waitlist_views  # noqa: F401 - the waiting list's pages, on the scenarios blueprint
    from scenarios.views import bp as scenarios_bp

    app.register_blueprint(scenarios_bp)
    from api.web import init_app as init_api

    init_api(app)
    from core import sso

    sso.init_app(app)


def _register_cli(app: Flask) -> None:
    from budget.cli import demo_cli, period_cli
    from core.cli import audit_cli, backup_cli, users_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(period_cli)
    from reports.cli import export_cli, report_cli, snapshot_cli

    app.cli.add_command(report_cli)
    app.cli.add_command(export_cli)
    app.cli.add_command(snapshot_cli)
    from imports.cli import import_cli

    app.cli.add_command(import_cli)
    from rounds.cli import reminders_cli, round_cli

    app.cli.add_command(round_cli)
    app.cli.add_command(reminders_cli)


def _register_template_helpers(app: Flask) -> None:
    from core.dates import datum, datum_lang, tijdstip
    from core.money import format_eur, format_eur_whole, format_pct, format_thousands

    # One set of date conventions (issue 14 item 7): datum in tables, datum_lang in text.
    app.jinja_env.filters["datum"] = datum
    app.jinja_env.filters["datum_lang"] = datum_lang
    app.jinja_env.filters["tijdstip"] = tijdstip
    app.jinja_env.filters["eur"] = format_eur
    app.jinja_env.filters["eur0"] = format_eur_whole
    app.jinja_env.filters["keur"] = format_thousands
    app.jinja_env.filters["pct"] = format_pct
