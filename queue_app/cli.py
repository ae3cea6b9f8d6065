"""``queue-app``: the command line of DESIGN.md (demo, serve, worker, db, load, token, user...)."""

from __future__ import annotations

import dataclasses
import json
import os
import pwd
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask

from queue_app import access, config_file, directory, kiosks, migrate
from queue_app import audit as audit_trail
from queue_app.clock import Clock, ShiftedClock, SystemClock
from queue_app.errors import QueueError
from queue_app.settings import DEFAULT_PUBLIC_URL, Settings, SettingsError

DEMO_FILE = Path(__file__).parent / "demo" / "branches.yaml"


def _app(settings: Settings, clock: Clock | None = None) -> Flask:
    from queue_app.app import create_app

    return create_app(settings, clock=clock)


def _fail(err: QueueError) -> None:
    """Print a domain error for a person at a terminal, without a traceback, and exit 2."""
    click.echo(f"error: {err.message}", err=True)
    sys.exit(2)


class _Commands(click.Group):
    """Every command: an environment variable that cannot be used is named, without a
    traceback, and nothing runs."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except SettingsError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=_Commands)
@click.version_option(package_name="queue-app")
def main() -> None:
    """Virtual queue and appointments for government service offices."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Bring the database schema up to date (safe to run again)."""
    settings = Settings.from_env()
    if settings.is_sqlite:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url, revision)
    click.echo(f"database is at revision {revision}")


@main.command("load")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def load(file: Path) -> None:
    """Load backends and branches from a YAML or JSON file (idempotent, matched by code)."""
    settings = Settings.from_env()
    app = _app(settings)
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            summary = config_file.load_file(database.session, file)
        except QueueError as err:
            _fail(err)
        click.echo(summary.describe())
        # A holiday added, shorter hours, fewer counters: bookings those slots can no longer
        # take move to later free slots, and their citizens are texted.
        from queue_app import capacity

        moved = capacity.move_all_overflow(database.session, SystemClock(), cause="config")
    if moved.moved or moved.unplaced:
        click.echo(
            f"{moved.moved} booking(s) moved to later slots ({moved.texted} texted); "
            f"{moved.unplaced} found no free slot"
        )


@main.command("seed")
@click.option("--demo", "demo", is_flag=True, required=True, help="load the demo branches")
def seed(demo: bool) -> None:
    """Load the demo branches: Cairo, Giza and Jeddah offices."""
    load.callback(DEMO_FILE)  # type: ignore[misc]


@main.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--role", required=True, type=click.Choice(["kiosk", "staff", "manager", "admin"]))
@click.option("--branch", "branch_code", help="the branch code (all roles but admin)")
@click.option("--label", help="who or what holds it, for your records")
@click.option(
    "--expires-in",
    "expires_in_days",
    type=click.IntRange(min=1),
    help="stop working after this many days (default: when revoked)",
)
@click.option(
    "--expires-at",
    "expires_at_text",
    metavar="ISO-8601",
    help="stop working at this date or time, e.g. 2027-01-31 or 2027-01-31T15:00+02:00 "
    "(UTC when no offset is given)",
)
def token_create(
    role: str,
    branch_code: str | None,
    label: str | None,
    expires_in_days: int | None,
    expires_at_text: str | None,
) -> None:
    """Make a token and print it. It is shown once; only its hash is kept."""
    if expires_in_days is not None and expires_at_text is not None:
        raise click.UsageError("give --expires-in or --expires-at, not both")
    clock = SystemClock()
    expires_at = None
    if expires_in_days is not None:
        expires_at = clock.now() + timedelta(days=expires_in_days)
    elif expires_at_text is not None:
        expires_at = _parse_expiry(expires_at_text)
    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            with _recording(
                database.session,
                clock,
                "token.create",
                audit_trail.Target("token", None),
                branch_code=branch_code,
            ):
                raw = access.create_token(
                    database.session, clock, role, branch_code, label=label, expires_at=expires_at
                )
        except QueueError as err:
            _fail(err)
    click.echo(raw)


def _operator() -> str | None:
    """Who runs the command, as the server's operating system knows them (for the audit trail;
    read from the system, not from variables anyone can set)."""
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


def _recording(
    session: Any, clock: Clock, action: str, target: audit_trail.Target, *, branch_code: str | None
) -> Any:
    """Record a command that changes access in the audit trail, with the change."""
    try:
        branch_id = directory.current(session).branch(branch_code).id if branch_code else None
    except QueueError:
        branch_id = None  # the command itself says the branch is unknown
    return audit_trail.recording(
        session,
        clock,
        audit_trail.Actor.command_line(_operator()),
        action,
        target,
        branch_id=branch_id,
    )


def _parse_expiry(text: str) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not an ISO 8601 date or time (e.g. 2027-01-31T15:00+02:00)",
            param_hint="--expires-at",
        ) from None
    # A date or time without an offset is read as UTC, as the help says: the server's own
    # time zone is no business of the person typing.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@token.command("list")
@click.option("--branch", "branch_code", help="only this branch's tokens")
@click.option(
    "--role", type=click.Choice(["kiosk", "staff", "manager", "admin"]), help="only this role"
)
@click.option("--all", "include_inactive", is_flag=True, help="also revoked and expired tokens")
@click.option(
    "--json", "as_json", is_flag=True, help="a JSON array, for programs, instead of the table"
)
def token_list(
    branch_code: str | None, role: str | None, include_inactive: bool, as_json: bool
) -> None:
    """The tokens that work (with --all, every token). A token itself is never shown: only the
    first characters of its hash, as a fingerprint."""
    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            listed = access.list_tokens(
                database.session,
                SystemClock(),
                branch_code=branch_code,
                role=role,
                include_inactive=include_inactive,
            )
        except QueueError as err:
            _fail(err)
    if as_json:
        click.echo(json.dumps([t.as_json() for t in listed], ensure_ascii=False, indent=2))
        return
    click.echo(_token_table(listed))


def _when(at: datetime | None) -> str:
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M}" if at else "-"


def _token_table(listed: list[access.TokenListing]) -> str:
    header = (
        "id",
        "role",
        "branch",
        "label",
        "kiosk",
        "fingerprint",
        "created",
        "expires",
        "state",
    )
    rows = [
        (
            str(t.id),
            t.role.value,
            t.branch_code or "(all)",
            t.label or "",
            t.kiosk_code or "",
            t.fingerprint,
            _when(t.created_at),
            _when(t.expires_at),
            f"revoked {_when(t.revoked_at)}" if t.revoked_at else t.state,
        )
        for t in listed
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    if not rows:
        lines.append("(no tokens)")
    lines.append("times in UTC")
    return "\n".join(lines)


def _interactive() -> bool:
    return sys.stdin.isatty()


def _confirm(doing: str, question: str) -> None:
    """Ask before a change that stops a kiosk, a counter or a person at once, and never guess
    "yes" for a script that did not say so (``--yes``). Exits 2 without a terminal."""
    if not _interactive():
        click.echo(
            f"error: {doing} needs a confirmation: run it at a terminal or pass --yes", err=True
        )
        sys.exit(2)
    click.confirm(question, abort=True)


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def token_revoke(token_id: int, yes: bool) -> None:
    """Revoke the token ID (see `token list`): it stops working at once, everywhere."""
    clock = SystemClock()
    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            found = access.find_token(database.session, clock, token_id)
        except QueueError as err:
            _fail(err)
        if found.revoked_at is not None:
            click.echo(f"token {token_id} was already revoked at {_when(found.revoked_at)} UTC")
            return
        what = (
            f"token {found.id} ({found.role.value}, {found.branch_code or 'all branches'}"
            f"{', ' + repr(found.label) if found.label else ''})"
        )
        if not yes:
            _confirm(f"revoking {what}", f"Revoke {what}? Whatever uses it stops working at once")
        with _recording(
            database.session,
            clock,
            "token.revoke",
            audit_trail.Target("token", str(token_id)),
            branch_code=found.branch_code,
        ):
            revoked = access.revoke_token(database.session, clock, token_id)
        if not revoked:
            click.echo(f"token {token_id} was already revoked")  # by someone else, meanwhile
            return
    click.echo(f"revoked {what}")


@main.group()
def audit() -> None:
    """The audit trail of staff, manager, admin and command-line actions."""


@audit.command("export")
@click.option("--branch", "branch_code", help="only this branch's records (default: all)")
@click.option(
    "--from",
    "since",
    metavar="DATE|TIME",
    help="from this day (2026-11-24; the branch's local day, UTC for all) or ISO 8601 time",
)
@click.option("--to", "until", metavar="DATE|TIME", help="to the end of this day, or this time")
@click.option("--action", help="one action (ticket.done) or a family of them (ticket)")
@click.option(
    "--format", "form", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
def audit_export(
    branch_code: str | None, since: str | None, until: str | None, action: str | None, form: str
) -> None:
    """Write the audit trail to standard output, newest first: CSV (UTF-8 with a byte-order
    mark, for spreadsheets) or JSON lines."""
    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            text = audit_trail.export(
                database.session,
                audit_trail.Query(since=since, until=until, action=action, limit=None),
                branch_code=branch_code,
                form=form,
            )
        except QueueError as err:
            _fail(err)
    click.echo(text, nl=False)


@main.group()
def user() -> None:
    """Accounts of the people who sign in: staff, managers, admins."""


@contextmanager
def _changing_account(
    action: str, username: str, *, branch_code: str | None = None
) -> Iterator[tuple[Any, Clock]]:
    """The database session and clock of a ``user`` command, its change recorded in the audit
    trail; a domain error is printed and exits 2."""
    clock = SystemClock()
    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            with _recording(
                database.session,
                clock,
                action,
                audit_trail.Target("person", username),
                branch_code=branch_code,
            ):
                yield database.session, clock
        except QueueError as err:
            _fail(err)


def _read_password(from_stdin: bool) -> str | None:
    """A password piped in (first line), or None to have one generated."""
    if not from_stdin:
        return None
    return sys.stdin.readline().rstrip("\n")


@user.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["staff", "manager", "admin"]))
@click.option(
    "--branch",
    "branch_codes",
    multiple=True,
    help="a branch they act for (repeat for several; none for an admin)",
)
@click.option("--name", "display_name", help="the name shown on screens, e.g. 'Mona Adel'")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read the password from the first line of standard input (default: generate one)",
)
def user_create(
    username: str,
    role: str,
    branch_codes: tuple[str, ...],
    display_name: str | None,
    password_stdin: bool,
) -> None:
    """Make an account. A generated password is printed once: hand it over in person."""
    from queue_app import people

    given = _read_password(password_stdin)
    password = given if given is not None else people.generate_password()
    branch_code = branch_codes[0] if branch_codes else None
    with _changing_account("user.create", username, branch_code=branch_code) as (session, clock):
        person = people.create_person(
            session,
            clock,
            username,
            role=role,
            branch_codes=branch_codes,
            password=password,
            display_name=display_name,
        )
        click.echo(f"created {person.username} ({person.role.value})")
    if given is None:
        click.echo(f"password: {password}")


@user.command("list")
@click.option(
    "--json", "as_json", is_flag=True, help="a JSON array, for programs, instead of the table"
)
def user_list(as_json: bool) -> None:
    """Every account: name, role, branches, second factor, state (active, locked, disabled)."""
    from queue_app import people

    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        accounts = people.list_people(database.session, SystemClock())
    if as_json:
        rows = [
            {
                "username": a.username,
                "name": a.display_name,
                "role": a.role.value,
                "branches": list(a.branch_codes),
                "second_factor": a.second_factor,
                "state": a.state,
            }
            for a in accounts
        ]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not accounts:
        click.echo("no accounts")
        return
    for a in accounts:
        branches = ",".join(a.branch_codes) or "all branches"
        factor = "2fa" if a.second_factor else "-"
        click.echo(f"{a.username:<20} {a.role.value:<8} {a.state:<9} {factor:<4} {branches}")


@user.command("disable")
@click.argument("username")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def user_disable(username: str, yes: bool) -> None:
    """Disable an account: its sessions end at once and it cannot sign in (`user enable` undoes)."""
    from queue_app import people

    if not yes:
        _confirm(
            f"disabling {username}", f"Disable {username}? They are signed out everywhere at once"
        )
    with _changing_account("user.disable", username) as (session, clock):
        people.set_disabled(session, clock, username, True)
    click.echo(f"disabled {username}")


@user.command("enable")
@click.argument("username")
def user_enable(username: str) -> None:
    """Let a disabled or locked account sign in again."""
    from queue_app import people

    with _changing_account("user.enable", username) as (session, clock):
        people.set_disabled(session, clock, username, False)
    click.echo(f"enabled {username}")


@user.command("reset")
@click.argument("username")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="read the new password from the first line of standard input (default: generate one)",
)
def user_reset(username: str, password_stdin: bool) -> None:
    """Give an account a new password; its sessions end and a lock is lifted."""
    from queue_app import people

    password = _read_password(password_stdin)
    with _changing_account("user.reset", username) as (session, clock):
        new = people.reset_password(session, clock, username, password)
    click.echo(f"reset {username}")
    if password is None:
        click.echo(f"password: {new}")


@user.command("second-factor")
@click.argument("username")
@click.option("--on/--off", "on", required=True, help="turn the authenticator code on or off")
def user_second_factor(username: str, on: bool) -> None:
    """Ask a manager or admin for an authenticator app's code at sign-in (TOTP). Prints the
    set-up link and its QR code for the app, once."""
    from queue_app import people

    with _changing_account("user.second_factor", username) as (session, _):
        uri = people.set_second_factor(session, username, on)
    if uri is None:
        click.echo(f"second factor off for {username}")
        return
    import io

    import qrcode

    picture = qrcode.QRCode(border=1)
    picture.add_data(uri)
    drawn = io.StringIO()
    picture.print_ascii(out=drawn)
    click.echo(drawn.getvalue())
    click.echo(uri)
    click.echo(f"second factor on for {username}: scan the code with an authenticator app")


@main.group()
def kiosk() -> None:
    """Kiosks: the touch screens that hand out tickets."""


@kiosk.command("enrol")
@click.option("--branch", "branch_code", required=True, help="the branch code")
@click.option(
    "--kiosk",
    "kiosk_code",
    help="the kiosk of the config file this screen becomes (its printer prints the tickets)",
)
@click.option("--label", help="which screen it is, for your records (e.g. 'hall A, left')")
def kiosk_enrol(branch_code: str, kiosk_code: str | None, label: str | None) -> None:
    """Print a one-time code that makes a touch screen this branch's kiosk.

    Open /kiosk/BRANCH on the screen and type the code there. The code works once, within a day.
    """
    settings = Settings.from_env()
    app = _app(settings)
    with app.app_context():
        from queue_app.web.extensions import db as database

        try:
            code = kiosks.create_code(
                database.session, SystemClock(), branch_code, label=label, kiosk_code=kiosk_code
            )
        except QueueError as err:
            _fail(err)
    # The code alone on standard output, like `token create`; the how-to beside it for people.
    click.echo(code.grouped)
    lifetime = int(kiosks.CODE_LIFETIME.total_seconds() // 3600)
    which = f"; the screen becomes kiosk {code.kiosk_code}" if code.kiosk_code else ""
    click.echo(
        f"On the kiosk, open {settings.public_url}/kiosk/{code.branch_code} and type this code"
        f"{which}.\n"
        f"It works once, until {code.expires_at:%Y-%m-%d %H:%M} UTC ({lifetime} hours).",
        err=True,
    )


@main.group()
def privacy() -> None:
    """Citizens' personal data: erase one number's on request (the worker erases old data by
    itself after QUEUE_RETENTION_DAYS)."""


@privacy.command("erase")
@click.argument("phone")
@click.option(
    "--country",
    default=None,
    help="read PHONE as a number of this country (EG, SA) when it is not in +... form",
)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def privacy_erase(phone: str, country: str | None, yes: bool) -> None:
    """Erase everything kept of PHONE now: it leaves every ticket, message and reply, and
    messages not yet sent to it are not sent. The audit trail keeps the erasure."""
    from queue_app import privacy as personal_data
    from sms.numbers import InvalidNumber, to_e164

    try:
        number = to_e164(phone, country or "ZZ")
    except InvalidNumber as err:
        hint = "" if country else " (give it as +20... or pass --country)"
        click.echo(f"error: {err}{hint}", err=True)
        sys.exit(2)
    clock = SystemClock()
    app = _app(Settings.from_env())
    with app.app_context():
        from queue_app.web.extensions import db as database

        found = personal_data.count_of_number(database.session, number)
        shown = audit_trail.masked_phone(number)
        if not found.total:
            click.echo(f"nothing is kept of {shown}")
            return
        what = (
            f"{found.tickets} ticket(s), {found.messages} message(s), {found.replies} "
            f"reply(ies) and {found.notes} note(s) of {shown}"
        )
        if not yes:
            _confirm(f"erasing {what}", f"Erase {what}? This cannot be undone")
        with _recording(
            database.session,
            clock,
            "privacy.erase",
            audit_trail.Target("phone", shown),
            branch_code=None,
        ):
            erased = personal_data.erase_number(database.session, number)
            database.session.commit()
    click.echo(
        f"erased {erased.tickets} ticket(s), {erased.messages} message(s), {erased.replies} "
        f"reply(ies) and {erased.notes} note(s) of {shown}"
    )


@main.command("openapi")
def openapi() -> None:
    """Print the OpenAPI document of the HTTP API."""
    import json

    from queue_app.api import openapi_document

    app = _app(Settings.from_env())
    click.echo(json.dumps(openapi_document(app), indent=2, sort_keys=True, ensure_ascii=False))


@main.command("demo-system")
@click.argument("code")
@click.option("--down/--up", "down", required=True, help="switch the simulated system off or on")
def demo_system(code: str, down: bool) -> None:
    """Switch a simulated back-end system of `queue-app demo` off or on (the demo's health
    monitor notices within a few checks)."""
    from queue_app.demo import systems as demo_systems

    settings = Settings.from_env()
    app = _app(settings)
    with app.app_context():
        from queue_app.outages import backend_by_code
        from queue_app.web.extensions import db as database

        try:
            backend_by_code(database.session, code)
        except QueueError as err:
            _fail(err)
    demo_systems.switch(settings.instance_path, code, up=not down)
    click.echo(f"{code} is now {'down' if down else 'up'} (the demo notices within ~15 s)")


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    type=int,
    help="processes (default QUEUE_WEB_WORKERS, else 1 on SQLite or without shared rate limits, "
    "else 2)",
)
@click.option("--threads", type=int, help="threads per process (default QUEUE_WEB_THREADS or 8)")
def serve(host: str, port: int, workers: int | None, threads: int | None) -> None:
    """Serve the web app and API with gunicorn, a production WSGI server."""
    from queue_app.web.server import run

    settings = Settings.from_env()
    workers = workers or settings.web_workers
    if workers > 1 and not settings.shares_rate_limits:
        # Each process would count on its own: a limit of 10 a minute would let 10 per process.
        click.echo(
            f"error: {workers} web processes would each keep their own rate-limit counts: set "
            "QUEUE_RATE_LIMIT_STORAGE=redis://HOST:6379/0 so they share one count, or run "
            "--workers 1",
            err=True,
        )
        sys.exit(2)
    run(
        settings,
        host=host,
        port=port,
        workers=workers,
        threads=threads or settings.web_threads,
    )


@main.command("worker")
def worker() -> None:
    """Send the SMS outbox (QUEUE_SMS_GATEWAY, at QUEUE_SMS_RATE per second) until stopped."""
    import logging
    import signal
    import threading

    from queue_app.worker import loop as jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        settings = Settings.from_env()
        gateway = jobs.gateway_for(settings)
    except ValueError as exc:  # a bad QUEUE_SMS_* or TWILIO_* variable
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    stop = threading.Event()
    for name in ("SIGTERM", "SIGINT"):
        signal.signal(getattr(signal, name), lambda *_: stop.set())
    app = _app(settings)
    with app.app_context():
        from queue_app.web.extensions import db as database

        engine = database.engine
    click.echo(f"worker: sending SMS through {settings.sms_gateway}; housekeeping every minute")
    threads = jobs.start(settings, engine, SystemClock(), stop, gateway)
    while not stop.wait(1):
        pass
    for thread in threads:
        thread.join(timeout=15)


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--real-time/--shift-to-office-hours",
    default=False,
    help="by default, when the demo offices are closed the demo clock moves to their next opening",
)
def demo(host: str, port: int, real_time: bool) -> None:
    """Everything in one go on an embedded SQLite file: demo data, tokens, the web server."""
    from queue_app.demo import mode as demo_mode
    from queue_app.web.server import run

    settings = Settings.from_env()
    if settings.public_url == DEFAULT_PUBLIC_URL:
        # Links in QR codes must reach this very server, whatever port it was given.
        settings = dataclasses.replace(settings, public_url=f"http://{host}:{port}")
    if not settings.is_sqlite:
        click.echo("note: QUEUE_DATABASE_URL is set; the demo uses that database", err=True)
    settings = dataclasses.replace(settings, demo=True)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.database_url)
    clock: Clock = SystemClock()
    app = _app(settings, clock)
    with app.app_context():
        from queue_app.web.extensions import db as database

        config_file.load_file(database.session, DEMO_FILE)
        # The demo's back-end systems are simulated by this very server (queue-app demo-system).
        demo_mode.simulate_systems(database.session, f"http://{host}:{port}")
        if not real_time:
            offset = demo_mode.offset_to_office_hours(database.session, clock.now())
            if offset:
                clock = ShiftedClock(offset)
        tokens = demo_mode.fresh_tokens(database.session, clock)
        passwords = demo_mode.fresh_people(database.session, clock)
        # The touch screen enrols itself with a code typed on it, as a real kiosk does.
        kiosk_code = kiosks.create_code(
            database.session, clock, demo_mode.DEMO_BRANCH, label="demo kiosk"
        ).grouped
        engine = database.engine
    click.echo(
        demo_mode.banner(
            settings, host, port, tokens, clock, kiosk_code=kiosk_code, passwords=passwords
        )
    )
    # The worker's jobs run beside the web server: SMS go to this console.
    import threading

    from queue_app.worker import loop as jobs

    jobs.start(demo_mode.worker_settings(settings), engine, clock, threading.Event())
    run(settings, host=host, port=port, workers=1, threads=settings.web_threads, clock=clock)
