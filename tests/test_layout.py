"""The package layout follows the data flow.

No module imports, even lazily inside a function, a module that imports it back (directly or
through others).
"""

from __future__ import annotations

import ast
from pathlib import Path

import carbon_bayes

ROOT = Path(carbon_bayes.__file__).parent


def module_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """carbon_bayes module -> the carbon_bayes modules it imports anywhere in its source.

    ``from carbon_bayes import x`` counts as importing ``carbon_bayes.x``; the top-level package
    (which re-exports the API lazily) is left out.
    """
    files = {}
    for path in root.rglob("*.py"):
        parts = ["carbon_bayes", *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    full = f"{module}.{alias.name}"
                    deps.add(full if full in files else module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in files and d not in (name, "carbon_bayes")}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_relative_and_lazy_imports():
    graph = module_graph()
    assert "carbon_bayes.reference.hardware" in graph["carbon_bayes.reference"]  # relative, top level
    assert "carbon_bayes.fitting" in graph["carbon_bayes.measurements"]  # inside a function


def test_no_import_cycles():
    assert find_cycles(module_graph()) == []


def test_data_flow_direction():
    """The physics and the predictor never reach up to the layers built on them."""
    graph = module_graph()
    upper = {"carbon_bayes.budget", "carbon_bayes.report", "carbon_bayes.validate", "carbon_bayes.voi",
             "carbon_bayes.forecast", "carbon_bayes.measurements", "carbon_bayes.plots", "carbon_bayes.cli"}

    def reach(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    for lower in ("carbon_bayes.formula", "carbon_bayes.schema", "carbon_bayes.predict",
                  "carbon_bayes.estimator", "carbon_bayes.risk"):
        assert not reach(lower) & upper, lower


MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def test_every_module_and_function_can_be_read_in_one_sitting():
    """No module over 500 lines, no function over 80 (docstring included)."""
    too_long = {}
    for path in ROOT.rglob("*.py"):
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            too_long[str(path.relative_to(ROOT))] = len(text.splitlines())
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                n = node.end_lineno - node.lineno + 1
                if n > MAX_FUNCTION_LINES:
                    too_long[f"{path.relative_to(ROOT)}:{node.name}"] = n
    assert too_long == {}


def test_the_model_core_layers_stay_apart():
    """Keep the registry and the blocks free of PyMC and of the layers that use them.

    The graph does not reach the fitting, and the numpy predictor reaches neither (it must not import
    PyMC).
    """
    graph = module_graph()
    for light in ("carbon_bayes.effects", "carbon_bayes.blocks", "carbon_bayes.streams", "carbon_bayes.formula"):
        tree = ast.parse((ROOT / f"{light.rsplit('.', 1)[-1]}.py").read_text())
        imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
                     and not n.module.startswith("pytensor.tensor.variable")}  # formula's type-checking import
        assert not imported & {"pymc", "pytensor"}, (light, imported)
        # frames is a leaf (it imports nothing of the package): telling pandas objects apart without pandas
        assert graph[light] <= {"carbon_bayes.effects", "carbon_bayes.formula", "carbon_bayes.frames"}, (
            light, graph[light])
    assert "carbon_bayes.fitting" not in graph["carbon_bayes.model"]
    for numpy_only in ("carbon_bayes.predict", "carbon_bayes.posterior", "carbon_bayes.estimator"):
        assert not graph[numpy_only] & {"carbon_bayes.model", "carbon_bayes.fitting"}, numpy_only

