"""The package's layers import only downward (issue 23).

    data -> models (judges beside them) -> train -> analyses (latent, dissect, attribution, metrics, transfer)
         -> viz (figures from arrays) -> app (commands, the report, experiment drivers)

``hooks``, ``io``, ``config`` and ``progress`` are shared utilities at the bottom. ``checkpoint`` and ``pretrained`` build
``GAN`` objects, so they sit with ``models``: everything above may import them, ``data`` may not.

Every module of ``latentlab`` is parsed with ``ast``; module-level imports and imports inside functions
(the usual place to hide a cycle) both count, relative imports are resolved. ``viz`` is held to a stricter
rule: figures take arrays, so it imports nothing but itself and the bottom utilities.
"""
from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "latentlab"

BOTTOM, DATA, MODELS, TRAIN, ANALYSES, VIZ, APP = range(7)
LAYERS = {
    "hooks": BOTTOM, "io": BOTTOM, "config": BOTTOM, "rng": BOTTOM, "images": BOTTOM, "progress": BOTTOM,
    "masks": BOTTOM,  # boxes and region shares of binary masks, shared by judges and dissect
    "data": DATA,
    "models": MODELS, "judges": MODELS, "checkpoint": MODELS, "pretrained": MODELS, "convert": MODELS,
    "train": TRAIN,
    "latent": ANALYSES, "dissect": ANALYSES, "attribution": ANALYSES, "metrics": ANALYSES, "transfer": ANALYSES,
    "viz": VIZ,
    "app": APP, "cli": APP, "live": APP,
    "": APP,  # the package's own __init__ re-exports from everywhere; nothing inside may import it
}
LAYER_NAMES = ("bottom utilities", "data", "models/judges", "train", "analyses", "viz", "app")
VIZ_MAY_IMPORT = {"viz", "hooks", "io", "config", "images", "progress"}


@dataclass(frozen=True)
class Import:
    importer: str   # dotted module name, e.g. "latentlab.latent.walk"
    target: str     # the latentlab module it imports, e.g. "latentlab.viz.latent_figures"
    line: int
    in_function: bool

    def where(self) -> str:
        where = f"{self.importer}:{self.line} imports {self.target}"
        return where + " (inside a function)" if self.in_function else where


def modules(package_dir: Path) -> dict[str, tuple[Path, bool]]:
    """{dotted name: (path, is_package)} of every .py file under ``package_dir``."""
    out = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (path, is_pkg)
    return out


class _Collector(ast.NodeVisitor):
    def __init__(self, name: str, is_pkg: bool, known: dict, root: str):
        self.name, self.known, self.root = name, known, root
        self.package = name if is_pkg else name.rpartition(".")[0]
        self.depth = 0
        self.found: list[Import] = []

    def _function(self, node):
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _function

    def _add(self, target: str, node) -> None:
        if target == self.root or target.startswith(self.root + "."):
            self.found.append(Import(self.name, target, node.lineno, self.depth > 0))

    def visit_Import(self, node):
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node):
        base = (importlib.util.resolve_name("." * node.level + (node.module or ""), self.package)
                if node.level else node.module)
        for alias in node.names:  # `from .. import hooks` imports the module latentlab.hooks
            sub = f"{base}.{alias.name}"
            self._add(sub if sub in self.known else base, node)


def collect_imports(package_dir: Path) -> list[Import]:
    """Every import of the package by the package, module level and in functions."""
    known = modules(package_dir)
    found = []
    for name, (path, is_pkg) in known.items():
        c = _Collector(name, is_pkg, known, package_dir.name)
        c.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        found += c.found
    return found


def part(module: str) -> str:
    """The layer key of a dotted module name: "latentlab.latent.walk" -> "latent", "latentlab" -> ""."""
    bits = module.split(".")
    return bits[1] if len(bits) > 1 else ""


def violations(imports: list[Import]) -> list[str]:
    bad = []
    for imp in imports:
        src, dst = part(imp.importer), part(imp.target)
        if src == dst:
            continue
        if src not in LAYERS or dst not in LAYERS:
            unknown = src if src not in LAYERS else dst
            bad.append(f"{imp.where()}: latentlab.{unknown} has no layer; add it to LAYERS in tests/test_layers.py")
        elif LAYERS[dst] > LAYERS[src]:
            bad.append(f"{imp.where()}: upward import from {LAYER_NAMES[LAYERS[src]]} ({src}) "
                       f"to {LAYER_NAMES[LAYERS[dst]]} ({dst or 'latentlab/__init__'})")
        elif src == "viz" and dst not in VIZ_MAY_IMPORT:
            bad.append(f"{imp.where()}: figures take arrays; viz may import only {sorted(VIZ_MAY_IMPORT)}")
    return bad


def package_cycles(imports: list[Import]) -> list[list[str]]:
    """Cycles in the graph of top-level parts (e.g. judges -> models -> judges), each as a list of parts."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        src, dst = part(imp.importer), part(imp.target)
        if src != dst:
            graph.setdefault(src, set()).add(dst)
    cycles, state = [], {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


# -- the package itself

def test_every_part_of_the_package_has_a_layer():
    parts = {part(name) for name in modules(PACKAGE_DIR)}
    assert parts - set(LAYERS) == set(), "new top-level modules/packages: give each a layer in LAYERS"


def test_imports_only_go_downward():
    imports = collect_imports(PACKAGE_DIR)
    assert any(i.in_function for i in imports) and any(not i.in_function for i in imports)  # both kinds are seen
    bad = violations(imports)
    assert bad == [], "\n".join(bad)


def test_no_cycle_between_packages():
    assert package_cycles(collect_imports(PACKAGE_DIR)) == []


# -- the checker on a made-up package, so that a broken checker cannot pass silently

def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "latentlab"
    for rel, text in {"__init__.py": "", **files}.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        for parent in p.relative_to(root).parents:
            (root / parent / "__init__.py").touch()
    return root


@pytest.mark.parametrize("source, target", [
    ("def f():\n    from ..viz.latent_figures import walk_figure\n", "latentlab.viz.latent_figures"),
    ("from latentlab.app import forget\n", "latentlab.app.forget"),
    ("import latentlab.app.report\n", "latentlab.app.report"),
    ("from .. import viz\n", "latentlab.viz"),
    ("class A:\n    def m(self):\n        import latentlab\n", "latentlab"),
])
def test_checker_flags_an_upward_import(tmp_path, source, target):
    root = _fake_package(tmp_path, {"latent/walk.py": source, "viz/latent_figures.py": "", "app/forget.py": "",
                                    "app/report.py": ""})
    imports = collect_imports(root)
    assert [(i.importer, i.target) for i in imports] == [("latentlab.latent.walk", target)]
    bad = violations(imports)
    assert len(bad) == 1 and "upward import from analyses (latent)" in bad[0] and "latentlab.latent.walk:" in bad[0]


def test_checker_accepts_downward_and_flags_computing_figures_and_unknown_parts(tmp_path):
    root = _fake_package(tmp_path, {
        "app/walk.py": "from ..latent.walk import Walk\nfrom ..viz import figs\n",
        "latent/walk.py": "from ..hooks import Trace\nfrom ..models import GAN\nfrom .pool import p\n",
        "latent/pool.py": "", "hooks.py": "", "models/__init__.py": "", "viz/figs.py": "",
        "viz/bad.py": "def f():\n    from ..latent.walk import Walk\n",
        "extras/thing.py": "from ..data import x\n", "data/__init__.py": "",
    })
    bad = sorted(violations(collect_imports(root)))
    assert len(bad) == 2
    assert "latentlab.extras.thing:1 imports latentlab.data: latentlab.extras has no layer" in bad[0]
    assert "latentlab.viz.bad:2 imports latentlab.latent.walk (inside a function): figures take arrays" in bad[1]


def test_package_cycles_are_found(tmp_path):
    root = _fake_package(tmp_path, {"judges/a.py": "from ..models import m\n",
                                    "models/m.py": "from ..judges import a\n"})
    assert package_cycles(collect_imports(root)) == [["judges", "models", "judges"]]


MAX_FUNCTION_LINES = 80


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """Functions (methods and nested ones included) longer than ``limit`` lines, decorators and docstring counted."""
    out = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1
                if n > limit:
                    out.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({n} lines)")
    return out


def test_no_function_is_longer_than_80_lines():
    """Issue 23: long functions are split into named steps; this keeps them split."""
    too_long = long_functions(PACKAGE_DIR)
    assert not too_long, f"functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(too_long)


def test_long_function_check_counts_lines(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("def short():\n    return 1\n\n\nclass A:\n    def long(self):\n"
                              + "        x = 1\n" * 81 + "        return x\n")
    assert long_functions(pkg) == ["pkg/m.py:6 long (83 lines)"]
