"""Walking a loaded YAML file by hand, every problem with its line: what mapping-file loaders share."""

from __future__ import annotations

from typing import Any

from leadsync.errors import Problem
from leadsync.rules.conditions import did_you_mean
from leadsync.rules.yamlsource import Path_, YamlSource

__all__ = ["YamlChecker"]


class YamlChecker:
    """Collects problems as ``FILE:LINE`` while a loader walks ``source.data``."""

    def __init__(self, source: YamlSource) -> None:
        self.src = source
        self.problems: list[Problem] = []

    def fail(self, path: Path_, message: str) -> None:
        self.problems.append(self.src.problem(path, message))

    def keys(self, path: Path_, value: Any, allowed: tuple[str, ...], what: str) -> dict[str, Any]:
        """``value`` as a mapping (empty when absent or not one), each unknown key a problem."""
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"`{what}` must be a mapping (key: value)")
            return {}
        for key in value:
            if key not in allowed:
                self.fail((*path, key), f"unknown key `{key}` in `{what}`{did_you_mean(str(key), allowed)}")
        return value
