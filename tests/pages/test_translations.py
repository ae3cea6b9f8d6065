"""The Arabic catalog is complete, compiled, and extracted from the sources as they are now.

After changing a string: `pybabel extract -F babel.cfg -o queue_app/translations/messages.pot .`,
`pybabel update -i queue_app/translations/messages.pot -d queue_app/translations`, translate,
then `pybabel compile -d queue_app/translations`.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "queue_app" / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
ARABIC = TRANSLATIONS / "ar" / "LC_MESSAGES"

MessageId = str | tuple[str, ...]


def _po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as source:
        return read_po(source, locale=locale)


def _mo(path: Path) -> Catalog:
    with path.open("rb") as source:
        return read_mo(source)


def _hashable(value: str | list[str] | tuple[str, ...]) -> MessageId:
    # Plural messages come as tuples from .po files and as lists from .mo files.
    return value if isinstance(value, str) else tuple(value)


def _ids(catalog: Catalog) -> set[MessageId]:
    return {_hashable(message.id) for message in catalog if message.id}


def _translations(catalog: Catalog) -> dict[MessageId, MessageId]:
    return {_hashable(m.id): _hashable(m.string) for m in catalog if m.id}


def test_committed_mo_is_the_compiled_po(tmp_path: Path):
    compiled = tmp_path / "messages.mo"
    with compiled.open("wb") as out:
        write_mo(out, _po(ARABIC / "messages.po", "ar"))
    committed, fresh = _mo(ARABIC / "messages.mo"), _mo(compiled)
    assert _translations(committed) == _translations(fresh)
    assert committed.plural_forms == fresh.plural_forms


def test_every_message_has_an_arabic_translation():
    arabic = _po(ARABIC / "messages.po", "ar")
    untranslated = []
    for message in _po(TEMPLATE):
        if not message.id:
            continue
        translated = arabic.get(message.id)
        strings = () if translated is None else translated.string
        strings = (strings,) if isinstance(strings, str) else strings
        if translated is None or translated.fuzzy or not all(s.strip() for s in strings):
            untranslated.append(message.id)
        elif message.pluralizable:
            assert len(strings) == arabic.num_plurals, message.id
    assert untranslated == []


def test_translations_keep_their_placeholders():
    problems = [
        (message.id, errors) for message, errors in _po(ARABIC / "messages.po", "ar").check()
    ]
    assert problems == []


def test_template_is_up_to_date_with_the_sources():
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    extracted = {
        _hashable(message)
        for _, _, message, _, _ in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
        )
        if message
    }
    assert extracted == _ids(_po(TEMPLATE)), "run pybabel extract and update (see this file)"
