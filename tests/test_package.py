"""The package as a whole: its imports form no cycle, only the backend touches numpy, the reading path that
docs/DESIGN.md promises exists with the line counts it states, and nothing points outside the repository."""

import ast
import os
import re

import tinygan as tg

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(REPO, "tinygan")
DESIGN = os.path.join(REPO, "docs", "DESIGN.md")


def package_modules():
    """{dotted module name: file path} for every module of tinygan/ (a package by its own name)."""
    modules = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, REPO)[:-3].replace(os.sep, ".")
                modules[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return modules


def imported_modules(module, path, modules):
    """The tinygan modules ``module`` imports, from every import statement in it (at the top or inside functions).

    ``from . import x`` counts as importing the module x (or, if x is a name, the package it comes from); the
    package itself ("tinygan") counts like any other module, so a cycle hidden behind ``import tinygan`` shows."""
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    targets = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package
                for _ in range(node.level - 1):
                    anchor = anchor.rsplit(".", 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for name in names:
            while name not in modules and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in modules and name != module:
                targets.add(name)
    return targets


def import_graph():
    modules = package_modules()
    return {module: imported_modules(module, path, modules) for module, path in modules.items()}


def find_cycle(graph):
    """A list of modules that import each other in a circle, or None."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def test_the_package_imports_form_no_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_an_import_of_the_package_itself_counts():
    modules = package_modules()
    graph = import_graph()
    assert "tinygan" in modules and "tinygan.autograd" in graph["tinygan"]
    assert not any("tinygan" in targets for module, targets in graph.items() if module != "tinygan")


def test_only_the_backend_imports_numpy_or_cupy():
    offenders = []
    for module, path in package_modules().items():
        if module == "tinygan.backend" or module.startswith("tinygan.backend."):
            continue
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            if any(name.split(".")[0] in ("numpy", "cupy") for name in names):
                offenders.append(module)
    assert offenders == []


def test_the_ops_own_code_never_needs_the_builtins_module():
    for path in package_modules().values():
        if os.sep + "ops" + os.sep in path:
            assert "builtins" not in open(path, encoding="utf-8").read(), path


# ---------------------------------------------------------------------------------------------------------------
# the reading path in docs/DESIGN.md
# ---------------------------------------------------------------------------------------------------------------

def reading_path():
    """[(file, stated line count)] from the reading-path table of docs/DESIGN.md, and the stated total."""
    text = open(DESIGN, encoding="utf-8").read()
    section = text.split("## The reading path", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| *\d+ *\| *`(tinygan/[\w/]+\.py)` *\| *(\d[\d,]*) *\|", section, flags=re.M)
    total = re.search(r"(\d[\d,]*) lines in all", section)
    return [(path, int(count.replace(",", ""))) for path, count in rows], int(total.group(1).replace(",", ""))


def test_the_reading_path_states_the_true_line_counts():
    rows, total = reading_path()
    assert len(rows) >= 6
    for path, stated in rows:
        with open(os.path.join(REPO, path), encoding="utf-8") as file:
            assert sum(1 for _ in file) == stated, f"docs/DESIGN.md states {stated} lines for {path}"
    assert total == sum(stated for _, stated in rows)
    assert total <= 1600, "the reading path is meant to be read in an afternoon: about 1,500 lines"


def test_the_reading_path_holds_no_speed_up():
    """No file of the reading path is a fast path or imports one; Adam may offer ``fused=True`` (PyTorch's
    switch for the same rule in flat buffers), which only imports the flat-buffer update from tinygan/fast."""
    rows, _ = reading_path()
    graph = import_graph()
    for path, _ in rows:
        module = path[:-3].replace("/", ".")
        assert not module.startswith("tinygan.fast")
        fast_imports = {target for target in graph[module] if target.startswith("tinygan.fast")}
        assert fast_imports == ({"tinygan.fast.fused_adam"} if module == "tinygan.optim.adam" else set()), module


def test_nothing_points_outside_the_repository():
    for folder in ("tinygan", "docs", "demos", "benchmarks", "tests"):
        for root, _, files in os.walk(os.path.join(REPO, folder)):
            for name in files:
                if name.endswith((".py", ".md")) and name != "test_package.py":
                    text = open(os.path.join(root, name), encoding="utf-8").read()
                    assert "../shared" not in text and "shared/DESIGN" not in text, os.path.join(root, name)
    assert "../shared" not in open(os.path.join(REPO, "README.md"), encoding="utf-8").read()


def test_the_version_is_the_one_in_pyproject():
    text = open(os.path.join(REPO, "pyproject.toml"), encoding="utf-8").read()
    assert re.search(r'^version = "([^"]+)"', text, flags=re.M).group(1) == tg.__version__
