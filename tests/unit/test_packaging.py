"""The distribution is one import package, ``leadsync``, mapped from the design card's folders.

``pyproject.toml`` lists every package (setuptools cannot find packages whose import names differ
from their folders), so a new folder must be listed there: these tests say which one is missing.
Every module imports its siblings as ``leadsync.…``; the folders' own names (``connector``,
``adapters``…) are never import names, so nothing else installed can shadow them.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]
FOLDER_NAMES = {"connector", "adapters", "sandboxes", "mappings", "examples"}


def _packages_in_tree() -> set[str]:
    """Every folder with an ``__init__.py`` under a mapped folder, as its import name."""
    found: set[str] = set()
    for name, folder in SETUPTOOLS["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            rel = init.parent.relative_to(base)
            dotted = ".".join((name, *rel.parts)) if rel.parts else name
            # A folder mapped on its own (leadsync.adapters) also sits inside another's (connector/ does not
            # hold adapters/, so nothing is found twice).
            found.add(dotted)
    return found


def test_every_package_in_the_tree_is_listed() -> None:
    listed = set(SETUPTOOLS["packages"])
    missing = sorted(_packages_in_tree() - listed)
    stale = sorted(listed - _packages_in_tree())
    assert not missing, f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not stale, f"listed in pyproject.toml but not a folder with __init__.py: {stale}"


def test_one_import_root() -> None:
    roots = {p.split(".")[0] for p in SETUPTOOLS["packages"]}
    assert roots == {"leadsync"}
    for target in [*PYPROJECT["project"]["scripts"].values()] + [
        v for group in PYPROJECT["project"]["entry-points"].values() for v in group.values()
    ]:
        assert target.startswith("leadsync."), target


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
    return names


def test_no_module_imports_a_folder_name() -> None:
    """pytest puts the repository on sys.path, so such an import would pass here and fail installed."""
    wrong = [
        f"{path.relative_to(ROOT)}:{line}: import {name}"
        for top in ("connector", "adapters", "sandboxes", "tests", "bench", "tests_mockforce")
        for path in (ROOT / top).rglob("*.py")
        for line, name in _imports(path)
        if name.split(".")[0] in FOLDER_NAMES
    ]
    assert not wrong, "import these as leadsync.…:\n" + "\n".join(wrong)
