"""Import hygiene: the project's module import graph has no cycles, the runtime packages never
import the training code, and building the command line does not import torch.

The graph is read from the source with :mod:`ast`, so it holds every import statement of a
module: top-level, inside functions and relative ones alike (an import inside a function is
still a dependency, only a later one).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("medtalk", "medtalk_core", "bridge", "train")
RUNTIME = ("medtalk_core", "bridge")
"""Packages that must work without the training code."""


def module_files() -> dict[str, Path]:
    """Dotted module name -> source file, for every module of :data:`PACKAGES`."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imported_names(module: str, path: Path) -> set[str]:
    """Absolute dotted names that the import statements of ``module`` (anywhere in its source)
    name: ``import a.b`` gives ``a.b``; ``from .x import y`` gives ``<package>.x`` and
    ``<package>.x.y`` (``y`` may be a submodule or an attribute)."""
    is_package = path.name == "__init__.py"
    package = module.split(".") if is_package else module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module
            names.add(source)
            names.update(f"{source}.{a.name}" for a in node.names if a.name != "*")
    return names


def project_module(name: str, modules: dict[str, Path]) -> str | None:
    """The project module that importing ``name`` loads (its longest module prefix), or None."""
    parts = name.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in modules:
            return ".".join(parts[:n])
    return None


def import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (itself excluded)."""
    modules = module_files()
    graph = {}
    for module, path in modules.items():
        targets = {project_module(n, modules) for n in imported_names(module, path)}
        graph[module] = {t for t in targets if t and t != module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): sets of
    modules each of which imports, directly or not, every other one."""
    index, low, stack, on_stack, comps = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def loop(graph: dict[str, set[str]], comp: set[str]) -> list[str]:
    """A shortest import path ``[a, b, ..., a]`` from the first module of ``comp`` back to it."""
    start = min(comp)
    paths = {w: [start, w] for w in sorted(graph[start] & comp)}
    frontier = list(paths)
    while start not in paths:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & comp):
                if w not in paths:
                    paths[w] = paths[v] + [w]
                    nxt.append(w)
        frontier = nxt
    return paths[start]


def describe(graph: dict[str, set[str]]) -> list[str]:
    """One line per circle: a loop through it and all its modules."""
    return [" -> ".join(loop(graph, c)) + f" (circle of {', '.join(sorted(c))})"
            for c in circles(graph)]


def test_cycle_finder_names_the_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert describe(graph) == ["a -> b -> c -> a (circle of a, b, c)"]
    assert describe({"a": {"b"}, "b": set()}) == []


def test_graph_reads_function_local_and_relative_imports(tmp_path):
    src = tmp_path / "mod.py"
    src.write_text("def f():\n    from . import rig\n    from .x import y as z\n"
                   "    import bridge.sinks\n")
    assert imported_names("medtalk_core.mod", src) == {
        "medtalk_core", "medtalk_core.rig", "medtalk_core.x", "medtalk_core.x.y", "bridge.sinks"}


def test_no_import_cycles():
    found = describe(import_graph())
    assert not found, "import cycles: " + "; ".join(found)


def test_runtime_packages_never_import_train():
    bad = sorted(f"{m} imports {t}" for m, targets in import_graph().items()
                 if m.split(".")[0] in RUNTIME for t in targets if t.split(".")[0] == "train")
    assert not bad, "; ".join(bad)


PROBE = """
import sys, traceback
first = []

class Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" and not first:
            stack = [f for f in traceback.extract_stack() if not f.filename.startswith("<")]
            first.append("".join(traceback.format_list(stack)))
        return None

sys.meta_path.insert(0, Watch())
from medtalk.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print("TORCH-IMPORTED" if "torch" in sys.modules else "TORCH-FREE", file=sys.stderr)
print("".join(first), file=sys.stderr)
sys.exit(code)
"""
"""Runs ``medtalk`` with its arguments in-process and says on stderr whether torch was loaded
(with the stack of its first import)."""


@pytest.mark.parametrize("args", [["--help"], ["devices"]])
def test_light_commands_do_not_import_torch(args):
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert "TORCH-FREE" in r.stderr, r.stderr
    # a machine without PortAudio lists no devices: a one-line error, exit 2
    assert r.returncode == 0 or (args == ["devices"] and r.returncode == 2
                                 and "medtalk devices: error:" in r.stderr), r.stderr
