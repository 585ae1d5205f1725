"""Import rules of DESIGN.md: the core never imports Qt, ui never opens a database session, server never imports ui."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("folder", ["models", "forms", "app"])
def test_core_never_imports_qt(folder):
    for f in _files(folder):
        bad = [n for n in _imports(f) if n.startswith(("PySide6", "PyQt", "ui"))]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"


def test_ui_holds_no_session_or_sqlalchemy():
    for f in _files("ui"):
        bad = [n for n in _imports(f) if n.startswith("sqlalchemy") or n == "models" or n.startswith("models.")]
        assert not bad, f"{f.relative_to(ROOT)} imports {bad}"
