"""Server-rendered pages: the ticket page behind the QR, the display board, the counter screen."""

from __future__ import annotations

from flask import Flask, render_template

from queue_app.pages import counter_screen, display_board, ticket_page


def init_app(app: Flask) -> None:
    for blueprint in (ticket_page.bp, display_board.bp, counter_screen.bp):
        app.register_blueprint(blueprint)


def error_page(status: int, message: str) -> tuple[str, int]:
    return render_template("error.html", status=status, message=message), status
