"""What the factory hangs on the app for request handlers: the database session handle, the
settings and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession

from queue_app import daily_cap, texting
from queue_app.clock import Clock
from queue_app.db import Base
from queue_app.settings import Settings


class RequestSession(FlaskSession):
    """``db.session``: made on first use inside an app context, so it knows the app's settings;
    it carries the public URL that texts link to (``texting``) and the daily cap of
    messages to a number (``daily_cap``)."""

    def __init__(self, db: SQLAlchemy, **kwargs: object) -> None:
        super().__init__(db, **kwargs)
        texting.set_public_url(self.info, current_settings().public_url)
        daily_cap.set_cap(self.info, current_settings().sms_daily_cap)
        texting.reply_rules_of(self.info, current_settings())


# A request commits once and then renders what it wrote: reloading every row after the commit
# (SQLAlchemy's default) would only repeat the queries it just made.
db = SQLAlchemy(
    model_class=Base,
    session_options={"expire_on_commit": False, "class_": RequestSession},
)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    clock: Clock


def runtime() -> Runtime:
    return current_app.extensions["queue_app"]


def current_clock() -> Clock:
    return runtime().clock


def current_settings() -> Settings:
    return runtime().settings
