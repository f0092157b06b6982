"""The import contract: which layer of panel/ may import which, read from the source.

    domain               imports nothing of the project
    store, live          never import web
    everything below web never imports web (only the app and the CLI, which assemble the
                         site, sit above it)

So formatting that exports need lives outside web, and a newcomer can trust the direction
web and live -> actions -> store -> domain.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABOVE_WEB = {"panel.app", "panel.cli"}  # the composition root: builds the routes from web/

Rule = tuple[str, Callable[[str, str], bool]]  # (what it forbids, broken(importer, imported))
RULES: list[Rule] = [
    (
        "domain imports nothing of the project",
        lambda module, imported: module == "panel.domain" and _within(imported, "panel"),
    ),
    (
        "store and live never import web",
        lambda module, imported: (
            (_within(module, "panel.store") or _within(module, "panel.live"))
            and _within(imported, "panel.web")
        ),
    ),
    (
        "nothing below web imports web",
        lambda module, imported: (
            not _within(module, "panel.web")
            and module not in ABOVE_WEB
            and _within(imported, "panel.web")
        ),
    ),
]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(root: Path, path: Path) -> set[str]:
    """Every module a file imports, absolute ("from . import x" resolved; "from a import b"
    counts a and, when b is a module, a.b)."""
    module = module_name(root, path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(root: Path, package: str = "panel") -> list[str]:
    """Each import in `root/package` that breaks a rule, as "importer -> imported: rule"."""
    broken = []
    for path in sorted((root / package).rglob("*.py")):
        module = module_name(root, path)
        for imported in sorted(imports_of(root, path)):
            for rule, breaks in RULES:
                if breaks(module, imported):
                    broken.append(f"{module} -> {imported}: {rule}")
    return broken


def test_the_package_keeps_its_layers() -> None:
    assert violations(ROOT) == []


def test_the_contract_sees_every_kind_of_broken_rule(tmp_path: Path) -> None:
    """A package that breaks each rule once, by each kind of import statement."""
    files = {
        "panel/__init__.py": "",
        "panel/domain.py": "from panel.store import Repo\n",
        "panel/store/__init__.py": "",
        "panel/store/rows.py": "import panel.web.base\n",
        "panel/live/__init__.py": "",
        "panel/live/hub.py": "from ..web import live\n",
        "panel/exports.py": "from panel.web.eventview import clock_label\n",
        "panel/app.py": "from panel.web import readers\n",  # allowed: the app assembles web
        "panel/web/__init__.py": "",
        "panel/web/eventview.py": "from panel.domain import Event\n",  # allowed: web -> domain
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = violations(tmp_path)
    assert "panel.domain -> panel.store: domain imports nothing of the project" in found
    assert "panel.store.rows -> panel.web.base: store and live never import web" in found
    assert "panel.live.hub -> panel.web.live: store and live never import web" in found
    assert "panel.exports -> panel.web.eventview: nothing below web imports web" in found
    assert not [v for v in found if v.startswith(("panel.app ", "panel.web."))]
