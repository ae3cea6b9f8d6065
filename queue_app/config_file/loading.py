"""The public face: check a config file, or check it and load it in one transaction.

The whole file is checked, including its references to what is already stored, before anything
is written; then everything is written in one transaction, committed once. An error leaves the
database as it was.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from queue_app.config_file.applying import _apply
from queue_app.config_file.document import _read
from queue_app.config_file.reading import _Reader
from queue_app.config_file.spec import ConfigFile
from queue_app.config_file.stored import _check_references, _fetch
from queue_app.config_file.summary import LoadSummary
from queue_app.errors import ConfigError


def parse_text(text: str, *, source: str = "<text>") -> ConfigFile:
    """Check a config file as far as it can be checked without a database.

    References to backends and services are not resolved here: they may name what is stored.
    Raises ConfigError naming the file, line and key of every problem.
    """
    document, duplicates = _read(text, source)
    reader = _Reader(document, duplicates)
    config = reader.config()
    if reader.problems:
        raise document.error(reader.problems)
    return config


def load_text(session: Session, text: str, *, source: str = "<text>") -> LoadSummary:
    """Check the whole text, then create and update what it describes in one transaction.

    ``source`` names the text in messages (the file's path). Raises ConfigError naming the file,
    line and key of every problem found; then nothing is written and the session is rolled back.
    """
    try:
        document, duplicates = _read(text, source)
        reader = _Reader(document, duplicates)
        config = reader.config()
        # Read what is stored, then write without letting a query flush half a change.
        with session.no_autoflush:
            stored = _fetch(session, config)
            problems = reader.problems + _check_references(config, stored)
            if problems:
                raise document.error(problems)
            summary = _apply(session, config, stored)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return summary


def load_file(session: Session, path: Path) -> LoadSummary:
    """Load a YAML or JSON config file; see ``load_text``.

    Raises ConfigError when the file cannot be read or is wrong in any way; nothing is written then.
    """
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file", file=source) from None
    except OSError as err:
        raise ConfigError(f"{source}: cannot read it ({err.strerror})", file=source) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise ConfigError(
            f"{source}:{line}: not UTF-8 text; save the file as UTF-8", file=source, line=line
        ) from None
    return load_text(session, text, source=source)
