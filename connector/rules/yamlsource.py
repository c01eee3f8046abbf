"""Load a YAML file into plain Python values, remembering the line of every key and item.

A rules file is written by a person, so two YAML traps are refused with a message a RevOps admin
understands instead of being silently misread: a tab used for indentation, and the unquoted words
``yes``/``no``/``on``/``off``, which YAML 1.1 reads as booleans (``country: NO`` would be
``false``, not Norway). Only ``true`` and ``false`` are booleans here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from leadsync.errors import Problem, RulesError

__all__ = ["Path_", "YamlSource", "load_yaml"]

Path_ = tuple[str | int, ...]

_AMBIGUOUS = re.compile(r"^(?:yes|no|on|off|y|n)$", re.IGNORECASE)


# Booleans are resolved below; dates stay text ("2026-12-25"), validated where they are used.
_OWN_TAGS = ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")


class _Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2), the rest left to us."""


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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesError([Problem(name, 0, f"cannot read the file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise RulesError([Problem(name, 1, "the file is not UTF-8 text")]) from None
    return load_yaml_text(text, name)


def load_yaml_text(text: str, name: str) -> YamlSource:
    """Parse YAML text that came from the file ``name``."""
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
    source = YamlSource(name, None)
    if node is None:
        source.lines[()] = 1
        return source
    source.data = _convert(node, (), source, problems)
    if problems:
        raise RulesError(problems)
    return source


def _convert(node: yaml.Node, path: Path_, source: YamlSource, problems: list[Problem]) -> Any:
    source.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, (*path, "<key>"), source, problems)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                problems.append(Problem(source.file, line, f"key {key!r} must be text"))
                continue
            if key in result:
                problems.append(Problem(source.file, line, f"key `{key}` appears twice"))
                continue
            source.lines[(*path, key)] = line
            result[key] = _convert(value_node, (*path, key), source, problems)
        source.lines.pop((*path, "<key>"), None)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(item, (*path, index), source, problems) for index, item in enumerate(node.value)]
    assert isinstance(node, yaml.ScalarNode)
    if node.style is None and _AMBIGUOUS.match(node.value):
        problems.append(
            Problem(
                source.file,
                node.start_mark.line + 1,
                f"`{node.value}` is ambiguous in YAML (some readers take it for true/false);"
                f' write "{node.value}" in quotes for the text, or true/false for a yes/no answer',
            )
        )
        return node.value
    return _CONSTRUCTOR.construct_object(node, deep=True)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
