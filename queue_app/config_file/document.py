"""The parsed file with the line of every key, for problems that name file, line and key path.

Every problem is reported with the file, the line and the key path, such as
``branches[0].services[1].letter``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from queue_app.config_file.spec import KeyPath
from queue_app.errors import ConfigError

# A file with hundreds of mistakes is the wrong file; the first ones say enough.
MAX_REPORTED = 30


@dataclass(frozen=True)
class _Problem:
    path: KeyPath
    message: str
    line: int | None = None  # when the path alone does not find it (a key written twice)


def format_key(path: KeyPath) -> str:
    """``("branches", 0, "services", 1, "letter")`` -> ``branches[0].services[1].letter``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


@dataclass(frozen=True)
class _Document:
    """The parsed file and its YAML node tree, which alone knows where each value was written."""

    source: str
    data: Any
    root: yaml.Node | None

    def line_of(self, path: KeyPath) -> int | None:
        """The line of the key (or list item) at ``path``; for a key that is missing, the line of
        the nearest thing that exists, where the user would add it."""
        node = self.root
        if node is None:
            # An empty file is wrong on its first line; JSON that YAML could not follow has none.
            return 1 if self.data is None else None
        line = node.start_mark.line + 1
        for part in path:
            found = None
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                        found, line = value_node, key_node.start_mark.line + 1
            elif (
                isinstance(node, yaml.SequenceNode)
                and isinstance(part, int)
                and 0 <= part < len(node.value)
            ):
                found = node.value[part]
                line = found.start_mark.line + 1
            if found is None:
                break
            node = found
        return line

    def raw(self, path: KeyPath) -> str | None:
        """The text the user typed for an unquoted scalar, or None."""
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                node = next(
                    (v for k, v in reversed(node.value) if getattr(k, "value", None) == str(part)),
                    None,
                )
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                node = node.value[part] if 0 <= part < len(node.value) else None
            else:
                return None
        if isinstance(node, yaml.ScalarNode) and node.style is None:
            return str(node.value)
        return None

    def error(self, problems: list[_Problem]) -> ConfigError:
        located = sorted(
            ((p.line or self.line_of(p.path), format_key(p.path), p.message) for p in problems),
            key=lambda item: (item[0] or 0, item[1]),
        )

        def one(line: int | None, key: str, message: str) -> str:
            where = f"{self.source}:{line}" if line else self.source
            return f"{where}: {key}: {message}"

        first_line, first_key, _ = located[0]
        if len(located) == 1:
            message = one(*located[0])
        else:
            listed = [f"  {one(*item)}" for item in located[:MAX_REPORTED]]
            if len(located) > MAX_REPORTED:
                listed.append(f"  ... and {len(located) - MAX_REPORTED} more")
            message = "\n".join(
                [f"{self.source}: {len(located)} problems, nothing was loaded", *listed]
            )
        return ConfigError(message, file=self.source, line=first_line, key=first_key)


def _syntax_error(source: str, err: yaml.YAMLError, text: str) -> ConfigError:
    line, problem = None, str(err)
    if isinstance(err, yaml.MarkedYAMLError):
        problem = err.problem or problem
        if err.problem_mark is not None:
            line = err.problem_mark.line + 1
        if err.context and err.context_mark is not None:
            problem += f" ({err.context}, from line {err.context_mark.line + 1})"
    elif isinstance(err, yaml.reader.ReaderError):
        line = text.count("\n", 0, err.position) + 1
        problem = f"character U+{err.character:04X} is not allowed in YAML"
    if "'\\t'" in problem:
        problem += " (indent with spaces, not tabs)"
    where = f"{source}:{line}" if line else source
    return ConfigError(f"{where}: not valid YAML: {problem}", file=source, line=line)


def _read(text: str, source: str) -> tuple[_Document, list[_Problem]]:
    """Parse the text and keep its node tree; return it with the keys written twice.

    Raises ConfigError for text that is not YAML.
    """
    text = text.removeprefix("\ufeff")
    try:
        # JSON is YAML, except that PyYAML refuses the tabs JSON tools indent with and reads
        # 1e5 as text. Valid JSON gives the values; YAML, on the same lines, gives the lines.
        # JSON strings cannot hold a raw tab, so every tab is whitespace between tokens.
        data: Any = json.loads(text)
        yaml_text, from_json = text.replace("\t", " "), True
    except ValueError:
        data, yaml_text, from_json = None, text, False
    loader = None
    try:
        loader = yaml.SafeLoader(yaml_text)  # refuses control characters at once
        root = loader.get_single_node()
        duplicates = list(_duplicate_keys(root, ())) if root is not None else []
        if not from_json:
            data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as err:
        if not from_json:
            raise _syntax_error(source, err, text) from None
        root, duplicates = None, []  # valid JSON that PyYAML cannot follow: values without lines
    finally:
        if loader is not None:
            loader.dispose()
    return _Document(source, data, root), duplicates


def _duplicate_keys(
    node: yaml.Node, path: KeyPath, seen: set[int] | None = None
) -> Iterator[_Problem]:
    # PyYAML keeps the last of two equal keys without a word; in a config file that is a mistake.
    seen = set() if seen is None else seen
    if id(node) in seen:  # an alias, possibly of itself
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_line: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            name = str(key_node.value)
            line = key_node.start_mark.line + 1
            if (key_node.tag, name) in first_line:
                yield _Problem(
                    (*path, name),
                    f"written twice (first on line {first_line[key_node.tag, name]})",
                    line=line,
                )
            else:
                first_line[key_node.tag, name] = line
            yield from _duplicate_keys(value_node, (*path, name), seen)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*path, index), seen)
