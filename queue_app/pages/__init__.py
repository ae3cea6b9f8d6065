"""Server-rendered pages: the start page, the ticket page behind the QR, the display board, the
counter screen, the public booking page and the status page."""

from __future__ import annotations

from flask import Flask

from queue_app.pages import (
    booking_page,
    counter_screen,
    display_board,
    formatting,
    join_page,
    manage_console,
    manage_hours,
    manage_maintenance,
    manage_statistics,
    start_page,
    status_page,
    ticket_page,
)
from queue_app.pages.errors import error_page

__all__ = ["error_page", "init_app"]


def init_app(app: Flask) -> None:
    formatting.init_app(app)
    blueprints = (
        ticket_page.bp,
        display_board.bp,
        counter_screen.bp,
        booking_page.bp,
        join_page.bp,
        status_page.bp,
        start_page.bp,
        manage_console.bp,
        manage_hours.bp,
        manage_maintenance.bp,
        manage_statistics.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
