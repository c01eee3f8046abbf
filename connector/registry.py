"""Adapters are found through the ``leadsync.adapters`` entry-point group, built-ins included."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from typing import Any

from leadsync.errors import ConfigError, Problem

__all__ = ["GROUP", "adapter_factory", "available_adapters"]

GROUP = "leadsync.adapters"


def available_adapters() -> list[str]:
    """The names of every installed adapter."""
    return sorted(ep.name for ep in entry_points(group=GROUP))


def adapter_factory(name: str, where: str = "config") -> Any:
    """The factory registered under ``name``, called with the connection's options.

    ``package.module:callable`` names a factory directly: an adapter under development can be
    tried before it is installed as a plugin.
    """
    if ":" in name:
        module, _, attribute = name.partition(":")
        try:
            return getattr(importlib.import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise ConfigError([Problem(where, 0, f"cannot load adapter `{name}`: {exc}")]) from None
    for ep in entry_points(group=GROUP):
        if ep.name == name:
            return ep.load()
    known = ", ".join(available_adapters()) or "none installed"
    raise ConfigError([Problem(where, 0, f"no adapter called `{name}` (installed: {known})")])
