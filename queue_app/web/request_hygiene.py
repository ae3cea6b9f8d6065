"""Text that no table can hold is refused at the door, before any handler reads it.

A lone UTF-16 surrogate (``"\\ud800"`` in a JSON body) is valid JSON but not Unicode: it cannot
be encoded, so the first answer that echoed it back failed with a 500; a NUL character is
refused by PostgreSQL's text columns mid-transaction. Neither is ever part of a real name, phone
number, code or token, so a request carrying one in its address, query, form or JSON body gets a
400 in the usual error shape, and nothing runs. An address longer than ``MAX_PATH`` is a 414 in
that shape too (gunicorn's own limit answers with a bare HTML page, so ours is lower).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, RequestURITooLarge

# Below gunicorn's default limit_request_line (4094 bytes for the whole request line).
MAX_PATH = 2048


class UnstorableText(BadRequest):
    description = (
        "the request holds text that is not valid Unicode or a NUL character; nothing was changed"
    )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _check_request() -> None:
    if len(request.path) > MAX_PATH:
        raise RequestURITooLarge(f"the address is longer than {MAX_PATH} characters")
    texts: list[str] = [request.path]
    texts.extend(_strings(request.args.to_dict(flat=False)))
    if request.mimetype == "application/x-www-form-urlencoded" or request.files:
        texts.extend(_strings(request.form.to_dict(flat=False)))
    if request.is_json and request.content_length:
        try:
            body = json.loads(request.get_data(cache=True))
        except ValueError:
            body = None  # not JSON at all: the handler's own parser says so
        texts.extend(_strings(body))
    if not all(storable(text) for text in texts):
        raise UnstorableText()


def init_app(app: Flask) -> None:
    app.before_request(_check_request)
