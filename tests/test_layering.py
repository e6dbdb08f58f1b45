"""The core knows nothing of the adapters: no module under domain/, services/ or search/
imports councilbot.adapters, at the top or inside a function (services/ports.py holds the
interfaces the adapters implement; app_context.py wires them)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "councilbot"
CORE = ("domain", "services", "search")


def imported_modules(tree: ast.AST, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``tree``, relative ones resolved."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def adapter_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        package = ".".join(path.relative_to(root.parent).with_suffix("").parts[:-1])
        for line, module in imported_modules(ast.parse(path.read_text(encoding="utf-8")), package):
            if module == "councilbot.adapters" or module.startswith("councilbot.adapters."):
                problems.append(f"{path.relative_to(root.parent)}:{line} imports {module}")
    return problems


def test_the_core_imports_no_adapter() -> None:
    problems = [p for layer in CORE for p in adapter_imports(PACKAGE / layer)]
    assert problems == []


def test_the_check_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    services = tmp_path / "councilbot" / "services"
    services.mkdir(parents=True)
    (services / "late.py").write_text("def f():\n    from councilbot.adapters.word import reader\n")
    (services / "relative.py").write_text("from ..adapters import llm\n")
    assert adapter_imports(tmp_path / "councilbot") == [
        "councilbot/services/late.py:2 imports councilbot.adapters.word",
        "councilbot/services/late.py:2 imports councilbot.adapters.word.reader",
        "councilbot/services/relative.py:1 imports councilbot.adapters",
        "councilbot/services/relative.py:1 imports councilbot.adapters.llm",
    ]
