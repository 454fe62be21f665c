"""The package's structure: imports go one way (library <- harness), no cycles anywhere, and
no file grows past what one reader holds in mind.

Read from the source with `ast`, so lazy imports inside functions count as much as top-level
ones: a cycle hidden in a function is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lrlc"

# Each part of the package and the parts it may import. The library (layers, functional,
# models, inference, data, analysis) never imports the harness (experiments, bench, cli).
ALLOWED: dict[str, set[str]] = {
    "functional": set(),
    "layers": {"functional"},
    # lrlc.models.resnet builds its LRLC networks with lrlcify
    "models": {"functional", "layers", "lrlcify"},
    "inference": {"layers"},
    "data": set(),
    "analysis": {"functional", "layers", "models"},
    "lrlcify": {"functional", "layers", "inference"},
    "export": {"layers", "inference"},
    # "lrlc" is the package face: the library's public names (and __version__).
    "experiments": {
        "lrlc",
        "functional",
        "layers",
        "models",
        "inference",
        "export",
        "data",
        "analysis",
    },  # fmt: skip
    "bench": {"lrlc", "functional", "layers", "models", "experiments"},
    "cli": {"experiments"},
    "__main__": {"experiments"},
}
# Inside the harness: run <- sweep <- reproduce <- cli, and records <- report.
HARNESS_ALLOWED: dict[str, set[str]] = {
    "base": set(),  # config, machine, huge_pages, files, records, provenance, progress
    "run": {"base"},
    "sweep": {"base", "run"},
    "report": {"base"},
    "reproduce": {"base", "sweep", "report"},
    "cli": {"base", "run", "sweep", "report", "reproduce"},
}
LIBRARY = ("functional", "layers", "models", "inference", "export", "data", "analysis")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The lrlc modules (or packages) one file imports, anywhere in it."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "lrlc"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "lrlc":
                continue
            # `from pkg import mod` imports the submodule when there is one.
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if _exists(sub) else target)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (SRC / rel).with_suffix(".py").exists() or (SRC / rel / "__init__.py").exists()


def graph() -> dict[str, set[str]]:
    files = [p for p in SRC.rglob("*.py") if p.name != "_compat.py"]
    return {module_name(p): imports_of(p) for p in files}


def part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "lrlc"


def harness_part(module: str) -> str:
    bits = module.split(".")
    if len(bits) < 3 or bits[:2] != ["lrlc", "experiments"]:
        return ""
    return bits[2] if bits[2] in HARNESS_ALLOWED else "base"


def test_imports_go_one_way():
    wrong = []
    for module, targets in graph().items():
        if module == "lrlc":  # the package face re-exports the library
            assert not any(part(t) in ("experiments", "bench", "cli") for t in targets), targets
            continue
        mine = part(module)
        for target in targets:
            theirs = part(target)
            if theirs != mine and theirs not in ALLOWED.get(mine, set()):
                wrong.append(f"{module} -> {target}")
            here, there = harness_part(module), harness_part(target)
            if here and there and here != there and there not in HARNESS_ALLOWED[here]:
                wrong.append(f"{module} -> {target} (inside the harness)")
    assert not wrong, "imports against the direction:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    g = graph()
    # A package's __init__ importing its own submodules is its face, not a dependency.
    edges = {m: {t for t in ts if t in g and not t.startswith(m + ".")} for m, ts in g.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_the_checker_sees_a_cycle_and_a_wrong_direction(tmp_path, monkeypatch):
    # The two tests above must be able to fail: a planted library -> harness import is caught.
    planted = SRC / "layers" / "_planted_for_test.py"
    planted.write_text("from ..experiments import config\n")
    try:
        with pytest.raises(AssertionError, match="layers._planted_for_test"):
            test_imports_go_one_way()
    finally:
        planted.unlink()


@pytest.mark.parametrize("path", sorted(SRC.rglob("*.py")), ids=lambda p: str(p.relative_to(SRC)))
def test_no_file_over_about_400_lines(path):
    assert len(path.read_text().splitlines()) <= 420


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


@pytest.mark.parametrize(
    "path",
    sorted((SRC / "experiments").rglob("*.py")),
    ids=lambda p: str(p.relative_to(SRC)),
)
def test_no_harness_function_over_about_60_lines(path):
    long = [
        f"{f.name} ({f.end_lineno - f.lineno + 1} lines)"
        for f in _functions(ast.parse(path.read_text()))
        if f.end_lineno - f.lineno + 1 > 65
    ]
    assert not long, long


def test_the_library_parts_exist_and_the_harness_is_one_package():
    for name in LIBRARY:
        assert (SRC / f"{name}.py").exists() or (SRC / name / "__init__.py").exists(), name
    top = {p.stem for p in SRC.glob("*.py")}
    assert top <= {"__init__", "__main__", "_compat", "cli", "inference", "lrlcify", "export"}, top


ROOT = SRC.parents[1]
TEXT = [p for d in ("src", "tests", "docs", "scripts", "benchmarks") for p in (ROOT / d).rglob("*")
        if p.suffix in {".py", ".md", ".sh", ".toml"} and "records" not in p.parts]  # fmt: skip
TEXT += [ROOT / "README.md", ROOT / "Makefile", ROOT / "pyproject.toml"]


def test_no_merge_conflict_markers_are_left_in_code_or_docs():
    # A merge once left its markers in the README's layout for a whole session.
    markers = ("<" * 7 + " ", ">" * 7 + " ", "=" * 7 + "\n")
    found = [
        f"{p.relative_to(ROOT)}:{n}"
        for p in TEXT
        for n, line in enumerate(p.read_text(errors="replace").splitlines(keepends=True), 1)
        if line.startswith(markers)
    ]
    assert not found, found
