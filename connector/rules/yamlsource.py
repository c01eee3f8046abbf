"""Load a YAML file into plain Python values, remembering the line of every key and item.

A rules file is written by a person, so two YAML traps are refused with a message a RevOps admin
understands instead of being silently misread: a tab used for indentation, and the unquoted words
``yes``/``no``/``on``/``off``, which YAML 1.1 reads as booleans (``country: NO`` would be
``false``, not Norway). Only ``true`` and ``false`` are booleans here.

Nothing a file says can make loading it slow or deep: a file is at most ``MAX_BYTES``, values
nest at most ``MAX_DEPTH`` levels (PyYAML and every walk of the data recurse), and YAML aliases
(``&name`` ... ``*name``) may not expand the data past ``MAX_VALUES`` values: a 2 KB "billion
laughs" file is refused at the line of the alias that goes past it, instead of taking minutes and
gigabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from leadsync.errors import Problem, RulesError

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "Path_", "YamlSource", "load_yaml"]

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64
MAX_VALUES = 50_000

Path_ = tuple[str | int, ...]

_AMBIGUOUS = re.compile(r"^(?:yes|no|on|off|y|n)$", re.IGNORECASE)


# Booleans are resolved below; dates stay text ("2026-12-25"), validated where they are used.
_OWN_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")


class _TooMuch(Exception):
    """The file goes past a bound of this module; ``line`` is where."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2), the rest left to us."""

    depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        # PyYAML composes recursively: bound the depth before Python's recursion limit does.
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise _TooMuch(mark.line + 1, _TOO_DEEP)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_TOO_DEEP = (
    f"values nest deeper than {MAX_DEPTH} levels (conditions inside conditions);"
    " flatten them, e.g. one `all:` listing every condition"
)


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag not in _OWN_TAGS]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class YamlSource:
    """The loaded data, its file name, and the line of every path into it."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Path_, message: str) -> Problem:
        return Problem(self.file, self.line(path), message)


def load_yaml(path: Path) -> YamlSource:
    """Parse ``path``; raise RulesError with FILE:LINE for anything YAML or a person gets wrong."""
    name = str(path)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_BYTES + 1)
        text = data.decode("utf-8")
    except OSError as exc:
        raise RulesError([Problem(name, 0, f"cannot read the file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise RulesError([Problem(name, 1, "the file is not UTF-8 text")]) from None
    return load_yaml_text(text, name)


def load_yaml_text(text: str, name: str) -> YamlSource:
    """Parse YAML text that came from the file ``name``."""
    if len(text.encode("utf-8")) > MAX_BYTES:
        message = f"the file is larger than {MAX_BYTES // 1024} KiB; a rules file is far smaller"
        raise RulesError([Problem(name, 1, message)])
    problems = [
        Problem(name, number, "a tab is used for indentation; YAML needs spaces")
        for number, line in enumerate(text.splitlines(), start=1)
        if line[: len(line) - len(line.lstrip(" \t"))].count("\t")
    ]
    if problems:
        raise RulesError(problems)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        what = exc.problem or "invalid YAML"
        raise RulesError([Problem(name, line, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:  # e.g. a character YAML does not allow, without a mark
        raise RulesError([Problem(name, 1, f"invalid YAML: {exc}")]) from None
    except _TooMuch as exc:
        raise RulesError([Problem(name, exc.line, exc.message)]) from None
    source = YamlSource(name, None)
    if node is None:
        source.lines[()] = 1
        return source
    try:
        source.data = _Converter(source, problems).convert(node, ())
    except _TooMuch as exc:
        raise RulesError([Problem(name, exc.line, exc.message)]) from None
    if problems:
        raise RulesError(problems)
    return source


class _Converter:
    """Nodes → plain values with their lines; counts the values, aliases' copies included."""

    def __init__(self, source: YamlSource, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        self.values = 0
        self.key_line = 1  # the line of the last key met: where an alias expands, not its anchor

    def convert(self, node: yaml.Node, path: Path_) -> Any:
        line = node.start_mark.line + 1
        self.values += 1
        if self.values > MAX_VALUES:
            raise _TooMuch(
                self.key_line,
                f"the file holds more than {MAX_VALUES:,} values once its aliases (*name) are"
                " expanded; write the values out, or use fewer aliases",
            )
        if len(path) > MAX_DEPTH:  # an alias inside its own anchor nests without end
            raise _TooMuch(line, _TOO_DEEP)
        source = self.source
        source.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, index)) for index, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        if node.style is None and _AMBIGUOUS.match(node.value):
            self.problems.append(
                Problem(
                    source.file,
                    line,
                    f"`{node.value}` is ambiguous in YAML (some readers take it for true/false);"
                    f' write "{node.value}" in quotes for the text, or true/false for a yes/no answer',
                )
            )
            return node.value
        try:
            return _CONSTRUCTOR.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            # A tag it cannot take (!!binary, !!python/...), a number of thousands of digits...
            what = getattr(exc, "problem", None) or str(exc)
            message = f"cannot read the value `{node.value[:40]}`: {what}"
            self.problems.append(Problem(source.file, line, message))
            return None

    def _mapping(self, node: yaml.MappingNode, path: Path_) -> dict[str, Any]:
        source = self.source
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.convert(key_node, (*path, "<key>"))
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.problems.append(Problem(source.file, line, f"key {key!r} must be text"))
                continue
            if key in result:
                self.problems.append(Problem(source.file, line, f"key `{key}` appears twice"))
                continue
            source.lines[(*path, key)] = line
            self.key_line = line
            result[key] = self.convert(value_node, (*path, key))
        source.lines.pop((*path, "<key>"), None)
        return result


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
