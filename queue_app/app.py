"""The app factory: ``create_app`` is the one place where the parts meet."""

from __future__ import annotations

import contextlib
from typing import Any

from flask import Flask, request
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

from queue_app.clock import Clock, SystemClock
from queue_app.db import unavailable
from queue_app.errors import QueueError
from queue_app.settings import Settings
from queue_app.web.extensions import Runtime

# Seconds a client is asked to wait when the database cannot be reached.
DATABASE_RETRY_AFTER_S = 5


def _wants_json() -> bool:
    """The API and webhooks answer errors in JSON, and so do the few page routes that take or
    give JSON (the kiosk's enrolment, the board's moved tickets); everything else answers with
    an error page."""
    from kiosk.views import JSON_ENDPOINTS
    from queue_app.pages.display_board import JSON_ENDPOINTS as BOARD_JSON_ENDPOINTS

    return (
        request.path.startswith(("/api/", "/sms/", "/demo/systems/"))
        or request.endpoint in JSON_ENDPOINTS
        or request.endpoint in BOARD_JSON_ENDPOINTS
    )


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the application. ``settings`` default to the environment, ``clock`` to real time."""
    from kiosk import print_views as kiosk_print_views
    from kiosk import views as kiosk_views
    from queue_app import api, pages
    from queue_app.api.errors import http_error_response, passed_on_headers, queue_error_response
    from queue_app.web import i18n, request_hygiene, security_headers, sign_in, sms_webhooks
    from queue_app.web.extensions import db
    from queue_app.web.rate_limits import limiter

    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RATELIMIT_STORAGE_URI=settings.rate_limit_storage,
        RATELIMIT_HEADERS_ENABLED=True,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Arabic as text, not \u escapes
    app.extensions["queue_app"] = Runtime(settings=settings, clock=clock or SystemClock())
    if settings.is_sqlite:
        settings.instance_path.mkdir(parents=True, exist_ok=True)

    if settings.trusted_proxies:
        # Behind nginx every request comes from the proxy: without this, one rate limit for the
        # whole city. Only as many hops as are ours are believed, so a client cannot forge one.
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]

    db.init_app(app)
    request_hygiene.init_app(app)
    i18n.init_app(app)
    limiter.init_app(app)
    security_headers.init_app(app)
    sign_in.init_app(app)
    api.init_app(app)
    pages.init_app(app)
    app.register_blueprint(kiosk_views.bp)
    app.register_blueprint(kiosk_print_views.bp)
    app.register_blueprint(sms_webhooks.bp)
    if settings.demo:
        from queue_app.demo import page as demo_page
        from queue_app.demo import switch as demo_switch

        app.register_blueprint(demo_switch.bp)
        app.register_blueprint(demo_page.bp)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness: the process answers. It touches no database and no back-end system."""
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> Any:
        """Readiness: the process can reach its database (a load balancer sends it work)."""
        try:
            db.session.execute(text("SELECT 1"))
        except DBAPIError:
            db.session.rollback()
            headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
            return {"status": "unavailable", "database": "unreachable"}, 503, headers
        return {"status": "ready", "database": "ok"}

    # Registered after the API's own handlers so that ours win: one error shape everywhere.
    @app.errorhandler(QueueError)
    def on_queue_error(err: QueueError) -> Any:
        db.session.rollback()
        if _wants_json():
            return queue_error_response(err)
        return pages.error_page(err.status, err.message)

    app.register_error_handler(sign_in.SignInNeeded, sign_in.to_sign_in)

    @app.errorhandler(DBAPIError)
    def on_database_error(err: DBAPIError) -> Any:
        # The database restarted, is unreachable, or (SQLite) stayed locked: the transaction
        # is gone whole, so "try again shortly" is true. Anything else is our bug: still one
        # error shape, and logged.
        with contextlib.suppress(DBAPIError):
            db.session.rollback()
        if not unavailable(err):
            app.logger.error("database error", exc_info=err)
            error: HTTPException = InternalServerError()
        else:
            app.logger.warning("database unavailable: %s", err.orig)
            error = ServiceUnavailable(
                "the database cannot take this just now (unreachable, restarting or its disk "
                "full); nothing was changed, try again",
                retry_after=DATABASE_RETRY_AFTER_S,
            )
        return on_http_error(error)

    @app.errorhandler(HTTPException)
    def on_http_error(err: HTTPException) -> Any:
        db.session.rollback()
        headers = passed_on_headers(err)
        if _wants_json():
            body, status = http_error_response(err)
            return body, status, headers
        html, status = pages.error_page(err.code or 500, err.description or "")
        return html, status, headers

    return app


def _engine_options(settings: Settings) -> dict[str, Any]:
    if settings.is_sqlite:
        # The web server's threads share the file; pysqlite checks threads by default.
        return {"connect_args": {"check_same_thread": False, "timeout": 30}}
    # Optimistic disconnect handling: a ping before every checkout would cost a round trip per
    # request (a third of a ticket lookup). After a database restart the first query on a dead
    # connection fails, SQLAlchemy throws the whole pool away, and the next request reconnects.
    return {"pool_pre_ping": False, "pool_recycle": 1800, "pool_size": 10, "max_overflow": 10}
