"""Signing in and out: /sign-in, /sign-in/code, /sign-out, and who is signed in on a request.

The session cookie holds a random token that names a row of ``signed_in_sessions`` (people.py):
it is HttpOnly (no script can read it), SameSite=Lax, Secure when the public URL is https, and
replaced at every sign-in. Forms carry Flask-WTF's CSRF token; the pages' scripts send it in
the ``X-CSRFToken`` header when they call the API with the cookie (api/auth.py). No staff
credential is ever kept in a page's storage.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from queue_app import people
from queue_app.access import Principal
from queue_app.errors import Forbidden, QueueError, Unauthorized
from queue_app.models import Role
from queue_app.web.extensions import current_clock, current_settings, db
from queue_app.web.rate_limits import limiter

COOKIE = "queue_signed_in"
bp = Blueprint("sign_in", __name__, template_folder="../pages/templates")
csrf = CSRFProtect()
# Per address; wrong passwords also lock the account itself, from any address (people.py).
SIGN_IN_LIMIT = "10 per minute;60 per hour"


def init_app(app: Flask) -> None:
    # Forms check their token when validated; the API checks it for cookie-signed calls only
    # (a bearer token is not sent by the browser on its own, so it needs none).
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # as long as the sign-in lasts
    csrf.init_app(app)
    app.register_blueprint(bp)

    @app.context_processor
    def who_is_signed_in() -> dict[str, Any]:
        # Only a request with the cookie costs a look-up.
        return {"signed_in": signed_in_person() if session_token() else None}


class SignInForm(FlaskForm):
    username = StringField(lazy_gettext("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=512)])


class CodeForm(FlaskForm):
    code = StringField(lazy_gettext("Code"), validators=[DataRequired(), Length(max=10)])


class SignOutForm(FlaskForm):
    pass


def session_token() -> str | None:
    return request.cookies.get(COOKIE)


def signed_in_person() -> Principal | None:
    """The person signed in on this request's cookie, looked up once per request (kept on the
    request itself: an app context, and its ``g``, may outlive one request)."""
    key = "queue_app.signed_in"
    if key not in request.environ:
        request.environ[key] = people.principal_of(db.session, current_clock(), session_token())
    principal: Principal | None = request.environ[key]
    return principal


def _safe_next(target: str | None) -> str | None:
    """Only a path on this server: an open redirect would make our sign-in page a phishing aid."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


def _home(role: Role, branch_code: str | None) -> str:
    """Where a person lands after signing in: a manager in their branch's console, staff at
    their branch's counters, an admin on the start page."""
    if role in (Role.MANAGER, Role.ADMIN) and branch_code:
        return url_for("manage_console.show", branch_code=branch_code)
    if branch_code:
        return url_for("sign_in.counters", branch_code=branch_code)
    return url_for("start_page.show")


def _set_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=current_settings().public_url.startswith("https://") or request.is_secure,
        path="/",
    )


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def sign_in() -> Any:
    form = SignInForm()
    target = _safe_next(request.args.get("next"))
    error = None
    status = 200
    if request.method == "POST":
        if not form.validate():
            error = (
                gettext("The form expired. Please try again.")
                if "csrf_token" in form.errors
                else gettext("Enter your user name and password.")
            )
            status = 400 if "csrf_token" in form.errors else 422
        else:
            try:
                opened = people.sign_in(
                    db.session,
                    current_clock(),
                    form.username.data or "",
                    form.password.data or "",
                    address=request.remote_addr,
                    user_agent=request.user_agent.string,
                )
            except people.AccountLocked:
                db.session.rollback()
                error = gettext("Too many wrong attempts. Wait a few minutes and try again.")
                status = 429
            except Forbidden:
                db.session.rollback()
                error = gettext("This account is disabled. Ask your administrator.")
                status = 403
            except Unauthorized:
                db.session.rollback()
                error = gettext("Wrong user name or password.")
                status = 401
            else:
                # A new cookie every sign-in: a session planted earlier is never promoted.
                destination = (
                    url_for("sign_in.code", next=target)
                    if opened.needs_code
                    else target or _home(opened.role, opened.branch_code)
                )
                response = redirect(destination, code=303)
                _set_cookie(response, opened.token)
                return response
    return render_template("sign_in.html", form=form, error=error), status


@bp.route("/sign-in/code", methods=["GET", "POST"])
@limiter.limit(SIGN_IN_LIMIT, methods=["POST"])
def code() -> Any:
    clock = current_clock()
    target = _safe_next(request.args.get("next"))
    if not people.waiting_for_code(db.session, clock, session_token()):
        return redirect(url_for("sign_in.sign_in", next=target), code=303)
    form = CodeForm()
    error = None
    status = 200
    if request.method == "POST":
        if not form.validate():
            error = gettext("Enter the code your authenticator app shows.")
            status = 422
        else:
            try:
                people.give_code(db.session, clock, session_token(), form.code.data or "")
            except QueueError as err:
                db.session.rollback()
                error = (
                    gettext("Too many wrong attempts. Wait a few minutes and try again.")
                    if isinstance(err, people.AccountLocked)
                    else gettext("Wrong or already used code.")
                )
                status = err.status
            else:
                principal = signed_in_person()
                assert principal is not None
                return redirect(target or _home(principal.role, principal.branch_code), code=303)
    return render_template("sign_in_code.html", form=form, error=error), status


@bp.post("/sign-out")
def sign_out() -> Any:
    form = SignOutForm()
    if not form.validate():
        raise Forbidden("the sign-out form expired")
    people.sign_out(
        db.session,
        current_clock(),
        session_token(),
        address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    response = redirect(url_for("sign_in.sign_in"), code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@bp.get("/counter/<branch_code>")
def counters(branch_code: str) -> Any:
    """A signed-in person's way to their counter: the branch's counters, each a link."""
    from queue_app import branches

    principal = require_signed_in(STAFF_PAGES)
    view = branches.branch_view(db.session, branch_code, current_clock().now(), next_slots=False)
    principal.require_branch(view.branch.id)
    return render_template("counter_list.html", branch=view.branch, counters=view.counters)


STAFF_PAGES = frozenset({Role.STAFF, Role.MANAGER, Role.ADMIN})
MANAGER_PAGES = frozenset({Role.MANAGER, Role.ADMIN})


class SignInNeeded(Exception):
    """Raised by a page that needs a signed-in person when there is none: answered with a
    redirect to the sign-in page that comes back here afterwards."""


def require_signed_in(roles: frozenset[Role]) -> Principal:
    """The signed-in person, if their role may open this page. Raises SignInNeeded, Forbidden."""
    principal = signed_in_person()
    if principal is None:
        raise SignInNeeded()
    principal.require(roles)
    return principal


def signed_in_page(roles: frozenset[Role]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A page for signed-in people of these roles; ``g.principal`` is who they are. The view
    still checks the branch (``principal.require_branch``), as the API does."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.principal = require_signed_in(roles)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def to_sign_in(_: SignInNeeded) -> Any:
    """Back here after signing in: to this page, or for a form sent while signed out (its
    session ended), to the page that holds it, since the form itself cannot be opened."""
    if request.method in ("GET", "HEAD"):
        back: str | None = request.full_path.rstrip("?")
    else:
        parts = request.path.split("/")
        back = "/".join(parts[:3]) if len(parts) > 2 and parts[1] == "manage" else None
    return redirect(url_for("sign_in.sign_in", next=back), code=303)


def check_csrf_header() -> None:
    """For an API call signed by the cookie: the page's CSRF token must come in the header.
    Raises Forbidden."""
    from flask_wtf.csrf import CSRFError

    try:
        csrf.protect()
    except CSRFError as err:
        raise Forbidden(
            "a signed-in call needs the page's X-CSRFToken header", csrf=[str(err.description)]
        ) from None


def api_principal() -> Principal:
    """The caller of an API route without a bearer token: a signed-in person (with the CSRF
    header on calls that change something). Raises Unauthorized, Forbidden."""
    principal = signed_in_person()
    if principal is None:
        raise Unauthorized("an Authorization: Bearer token or a signed-in session is required")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf_header()
    return principal
