"""The virtual queue. ``create_app`` lives in ``queue_app.app``; importing this package (or any
domain module under it) loads no Flask."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from queue_app.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # ``from queue_app import create_app`` keeps working without making every domain import pay
    # for Flask.
    if name == "create_app":
        from queue_app.app import create_app

        return create_app
    raise AttributeError(f"module 'queue_app' has no attribute {name!r}")
