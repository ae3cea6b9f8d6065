"""``queue-app load FILE``: backends and branches from a YAML or JSON file (DESIGN.md, "The config
file"). Loading is idempotent and matched by code.

``parse_text`` checks a file without a database; ``load_text`` and ``load_file`` check it against
the database as well and write it in one transaction. What a reload changes is told in
``applying``, how problems are reported in ``document`` and ``values``.
"""

from queue_app.config_file.document import format_key
from queue_app.config_file.loading import load_file, load_text, parse_text
from queue_app.config_file.spec import (
    BackendSpec,
    BranchSpec,
    ConfigFile,
    CounterSpec,
    KeyPath,
    KioskSpec,
    Reference,
    ServiceSpec,
    SpecialRange,
)
from queue_app.config_file.summary import LoadSummary, Tally

__all__ = [
    "BackendSpec",
    "BranchSpec",
    "ConfigFile",
    "CounterSpec",
    "KeyPath",
    "KioskSpec",
    "LoadSummary",
    "Reference",
    "ServiceSpec",
    "SpecialRange",
    "Tally",
    "format_key",
    "load_file",
    "load_text",
    "parse_text",
]
