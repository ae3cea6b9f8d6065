"""What ``queue-app demo`` adds to a plain server: a clock in office hours, tokens and a banner."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from queue_app import access, directory, opening_hours, people
from queue_app.clock import Clock, ShiftedClock
from queue_app.demo import systems as demo_systems
from queue_app.errors import NotFound
from queue_app.models import ApiToken, Backend, Branch
from queue_app.settings import Settings
from sms.whatsapp import Templates

DEMO_LABEL = "demo"
# The branch whose tokens the banner prints; the demo's story starts in the Cairo civil registry.
DEMO_BRANCH = "cairo-civil"
# Land an hour after opening, when an office is in full swing.
INTO_THE_DAY = timedelta(hours=1)


def offset_to_office_hours(session: Session, now: datetime) -> timedelta | None:
    """How far to move the clock so that the demo branch is open; None if it is open now."""
    try:
        branch = directory.current(session).branch(DEMO_BRANCH)
    except NotFound:
        return None
    if opening_hours.is_open(branch.hours, now, branch.zone):
        return None
    opening = opening_hours.next_opening(branch.hours, now, branch.zone)
    if opening is None:
        return None
    return opening + INTO_THE_DAY - now


# In the demo, a paused line is moved after this long (the config file says 20 minutes), so
# that a newcomer sees the whole story in a few minutes.
DEMO_RESCHEDULE_AFTER_MINUTES = 1


def simulate_systems(session: Session, base: str) -> None:
    """Point every back-end system's health URL at the demo's simulated one, on this server,
    and let the demo branches move a paused line after a minute."""
    for backend in session.scalars(select(Backend)):
        backend.health_url = demo_systems.health_url(base, backend.code)
    for branch in session.scalars(select(Branch)):
        branch.reschedule_after_minutes = DEMO_RESCHEDULE_AFTER_MINUTES
    session.commit()


# WhatsApp outside the 24-hour window needs an approved template; a demo has none, and every
# WhatsApp message would fall back to SMS for want of one. These stand-in Content SIDs let the
# console show the WhatsApp message as it would go. A deployment's own (TWILIO_WHATSAPP_TEMPLATES)
# are kept when set.
DEMO_WHATSAPP_TEMPLATES = Templates.from_mapping(
    {"default": {"ar": "HX" + "d0" * 16, "en": "HX" + "e0" * 16}}
)


def worker_settings(settings: Settings) -> Settings:
    """The demo's worker: every message to the console, WhatsApp ones with the stand-in
    templates unless real ones are set."""
    templates = settings.whatsapp_templates
    if not templates.sids:
        templates = DEMO_WHATSAPP_TEMPLATES
    return dataclasses.replace(settings, sms_gateway="console", whatsapp_templates=templates)


def fresh_tokens(session: Session, clock: Clock) -> dict[str, str]:
    """Revoke the previous demo tokens and make one per role, so the banner can print them."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.label == DEMO_LABEL, ApiToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    directory.mark_changed(session)  # a bulk UPDATE passes by the ORM's hook (directory.py)
    session.commit()
    tokens = {}
    for role in ("kiosk", "staff", "manager"):
        tokens[role] = access.create_token(session, clock, role, DEMO_BRANCH, label=DEMO_LABEL)
    tokens["admin"] = access.create_token(session, clock, "admin", None, label=DEMO_LABEL)
    return tokens


DEMO_PEOPLE = (
    ("demo-staff", "staff", "Demo counter staff"),
    ("demo-manager", "manager", "Demo branch manager"),
    ("demo-admin", "admin", "Demo administrator"),
)


def fresh_people(session: Session, clock: Clock) -> dict[str, str]:
    """One account per role (the staff and manager for the demo branch), each with a new
    password every start, so the banner can print them: user name -> password."""
    passwords = {}
    for username, role, name in DEMO_PEOPLE:
        password = people.generate_password()
        try:
            people.find_person(session, username)
        except NotFound:
            branches = [] if role == "admin" else [DEMO_BRANCH]
            people.create_person(
                session,
                clock,
                username,
                role=role,
                branch_codes=branches,
                password=password,
                display_name=name,
            )
        else:
            people.set_disabled(session, clock, username, False)
            people.reset_password(session, clock, username, password)
        passwords[username] = password
    return passwords


def banner(
    settings: Settings,
    host: str,
    port: int,
    tokens: dict[str, str],
    clock: Clock,
    *,
    kiosk_code: str | None = None,
    passwords: dict[str, str] | None = None,
) -> str:
    """What the demo prints at start: where to go, and the tokens and kiosk code to get in."""
    base = f"http://{host}:{port}"
    lines = [
        "",
        "Virtual queue demo — طابور افتراضي (تجربة)",
        f"  database      {settings.database_url}",
    ]
    if isinstance(clock, ShiftedClock):
        lines.append(
            f"  demo clock    {clock.now():%Y-%m-%d %H:%M} UTC (moved into office hours; "
            "--real-time to keep the real time)"
        )
    lines += [
        "",
        f"  demo controls {base}/demo   (switch the simulated systems off and on)",
        f"  status        {base}/status",
        f"  branches      {base}/api/v1/branches",
        f"  kiosk         {base}/kiosk/{DEMO_BRANCH}"
        + (f"   (enrolment code: {kiosk_code})" if kiosk_code else ""),
        f"  display board {base}/display/{DEMO_BRANCH}",
        f"  join by phone {base}/join/{DEMO_BRANCH}   (its door poster: /join/{DEMO_BRANCH}/poster;"
        " the code appears below)",
        f"  counter 1     {base}/counter/{DEMO_BRANCH}/1   (sign in as demo-staff)",
        f"  manager       {base}/manage/{DEMO_BRANCH}   (sign in as demo-manager)",
        f"  sign in       {base}/sign-in",
        f"  API document  {base}/api/v1/openapi.json",
        "",
        "  an outage, end to end (texts appear below as they are sent):",
        f"    switch a system off on {base}/demo, or:",
        "    queue-app demo-system civil-registry --down    # and --up to end it",
        "    (paused within ~15 s; the waiting line is moved and texted after a minute)",
        "",
        f"  tokens ({DEMO_BRANCH}; admin for all branches):",
    ]
    lines += [f"    {role:<8} {raw}" for role, raw in tokens.items()]
    if passwords:
        lines += ["", "  people (user name and password, new at every start):"]
        lines += [f"    {name:<13} {password}" for name, password in passwords.items()]
    lines += [
        "",
        "  take a ticket:",
        f"    curl -s -X POST {base}/api/v1/branches/{DEMO_BRANCH}/tickets \\",
        f"      -H 'Authorization: Bearer {tokens['kiosk']}' \\",
        "      -H 'Content-Type: application/json' \\",
        '      -d \'{"service": "id-card", "phone": "01012345678"}\'',
        "",
    ]
    return "\n".join(lines)
