"""The file against the database: what is stored of it, whether its references resolve."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from queue_app.config_file.document import _Problem
from queue_app.config_file.spec import ConfigFile
from queue_app.config_file.values import _did_you_mean
from queue_app.directory import ALL_A_BRANCH_HOLDS
from queue_app.models import Backend, Branch


@dataclass
class _Stored:
    """What the database already holds of the file's backends and branches, by code."""

    backends: dict[str, Backend]
    branches: dict[str, Branch]


def _fetch(session: Session, config: ConfigFile) -> _Stored:
    backend_codes = {b.code for b in config.backends} | {
        ref.code
        for branch in config.branches
        for service in branch.services
        for ref in service.backends or ()
    }
    backends = session.scalars(select(Backend).where(Backend.code.in_(sorted(backend_codes))))
    branches = session.scalars(
        select(Branch)
        .where(Branch.code.in_([b.code for b in config.branches]))
        .options(*ALL_A_BRANCH_HOLDS)
    )
    return _Stored({b.code: b for b in backends}, {b.code: b for b in branches})


def _check_references(config: ConfigFile, stored: _Stored) -> list[_Problem]:
    problems = []
    known_backends = {b.code for b in config.backends} | set(stored.backends)
    for branch in config.branches:
        existing = stored.branches.get(branch.code)
        stored_services = {s.code: s for s in existing.services} if existing else {}
        in_file = {s.code for s in branch.services}
        for service in branch.services:
            for ref in service.backends or ():
                if ref.code not in known_backends:
                    hint = _did_you_mean(ref.code, known_backends)
                    problems.append(
                        _Problem(
                            ref.path,
                            f'unknown backend "{ref.code}"{hint}: define it under backends',
                        )
                    )
            # Services the file leaves out keep their letters; a new letter may not take one.
            letter = service.values.get("letter")
            for other in stored_services.values():
                if other.code not in in_file and other.letter == letter:
                    problems.append(
                        _Problem(
                            (*service.path, "letter"),
                            f'letter {letter} is already used by service "{other.code}" of branch '
                            f'"{branch.code}" in the database',
                        )
                    )
        known_services = in_file | set(stored_services)
        for counter in branch.counters:
            for ref in counter.services or ():
                if ref.code not in known_services:
                    hint = _did_you_mean(ref.code, known_services)
                    problems.append(
                        _Problem(
                            ref.path, f'branch "{branch.code}" has no service "{ref.code}"{hint}'
                        )
                    )
    return problems
