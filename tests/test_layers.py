"""The package's layers import only downward (issues 23, 33); docs/design.md draws them and a test below checks
that the drawing and ``LAYERS`` agree.

    data -> models (judges beside them) -> train -> analyses (latent, dissect, attribution, metrics, transfer)
         -> viz (figures from arrays) -> app (commands, the report, experiment drivers)

``hooks``, ``io``, ``config``, ``rng``, ``images``, ``progress``, ``validate`` and ``masks`` are shared utilities at
the bottom. ``checkpoint`` and ``pretrained`` build ``GAN`` objects, so they sit with ``models``: everything above may
import them, ``data`` may not. No two modules import each other, directly or round a loop.

Every module of ``latentlab`` is parsed with ``ast``; module-level imports and imports inside functions
(the usual place to hide a cycle) both count, relative imports are resolved. ``viz`` is held to a stricter
rule: figures take arrays, so it imports nothing but itself and the bottom utilities.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "latentlab"

BOTTOM, DATA, MODELS, TRAIN, ANALYSES, VIZ, APP = range(7)
LAYERS = {
    "hooks": BOTTOM, "io": BOTTOM, "config": BOTTOM, "rng": BOTTOM, "images": BOTTOM, "progress": BOTTOM,
    "validate": BOTTOM,  # argument checks in one message style
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


def module_cycles(imports: list[Import]) -> list[list[str]]:
    """Import cycles between modules (strongly connected parts of the module graph, each sorted), counting
    imports inside functions too: a cycle within one package (report -> report_cli -> report) is still one."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if imp.importer != imp.target:
            graph.setdefault(imp.importer, set()).add(imp.target)
    order, low, stack, cycles = {}, {}, [], []

    def visit(node):  # Tarjan's algorithm
        order[node] = low[node] = len(order)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in order:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], order[nxt])
        if low[node] == order[node]:
            scc = stack[stack.index(node):]
            del stack[stack.index(node):]
            if len(scc) > 1:
                cycles.append(sorted(scc))

    for node in sorted(graph):
        if node not in order:
            visit(node)
    return cycles


def test_no_cycle_between_packages():
    assert package_cycles(collect_imports(PACKAGE_DIR)) == []


def test_no_cycle_between_modules():
    assert module_cycles(collect_imports(PACKAGE_DIR)) == []


def _loaded_by(statement: str) -> set[str]:
    """Names in sys.modules after ``statement`` in a fresh interpreter (this checkout first on the path)."""
    probe = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return set(proc.stdout.split())


def test_dissect_loads_no_data_generator_judge_or_cv2():
    """Generic helpers (mask_to_boxes, agreement) live in latentlab.masks, not in the judge modules, so the
    dissection's import does not pull in the procedural rooms, the judges or cv2 (issue 33)."""
    loaded = _loaded_by("import latentlab.dissect")
    assert "latentlab.dissect.removal" in loaded and "latentlab.masks" in loaded  # the probe saw the real import
    assert {"cv2", "latentlab.data.rooms", "latentlab.judges"} & loaded == set()


def imported_roots(path: Path) -> set[str]:
    """Top-level names a script imports (module level and in functions); relative imports give ""."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            roots |= {a.name.partition(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            roots.add("" if node.level else node.module.partition(".")[0])
    return roots


def test_examples_import_only_latentlab_of_this_repository():
    """An example is what a user can copy: besides the library and third-party packages it may use only a
    private helper file beside it (examples/_*.py), never tests/, scripts/, benchmarks/ or pretrained/."""
    ours = {p.stem for p in ROOT.iterdir() if p.suffix == ".py" or p.is_dir()} - {"latentlab"}
    helpers = {p.stem for p in (ROOT / "examples").glob("_*.py")}
    bad = {}
    for path in sorted((ROOT / "examples").glob("*.py")):
        wrong = {r for r in imported_roots(path) if r in ours or r == "" or
                 (r.startswith("_") and r not in helpers and r not in sys.stdlib_module_names)}
        if wrong:
            bad[path.name] = sorted(wrong)
    assert "tests" in ours and "latentlab" not in ours
    assert bad == {}, f"examples import from this repository outside latentlab: {bad}"


def design_layers(text: str) -> list[tuple[str, list[str]]]:
    """The layer table of docs/design.md (first ```text block after "## Layers"), top row first:
    [(layer name, [parts])]; the package's own __init__ is written ``__init__``."""
    block = text.split("## Layers", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    rows = [line.split("|") for line in block.splitlines() if line.strip()]
    assert all(len(r) == 3 for r in rows), f"expected rows 'layer | parts | what', got {block!r}"
    return [(name.strip(), parts.split()) for name, parts, _ in rows]


def test_design_doc_draws_the_layers_this_test_enforces():
    rows = design_layers((ROOT / "docs" / "design.md").read_text(encoding="utf-8"))
    drawn = {("" if p == "__init__" else p): len(rows) - 1 - i for i, (_, parts) in enumerate(rows) for p in parts}
    assert drawn == LAYERS, "docs/design.md's layer table and LAYERS in tests/test_layers.py disagree"
    assert [name for name, _ in rows][::-1][1:] == ["data", "models", "train", "analyses", "viz", "app"]


def test_design_table_parser_reads_rows_top_down():
    text = "## Layers\n\n```text\nup   | b __init__ | x\ndown | a          | y\n```\n"
    assert design_layers(text) == [("up", ["b", "__init__"]), ("down", ["a"])]


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


def test_module_cycles_are_found_also_inside_a_package_and_a_function(tmp_path):
    root = _fake_package(tmp_path, {
        "app/report.py": "from .report_cli import SECTIONS\n",
        "app/report_cli.py": "def run():\n    from .report import build_report\n",
        "app/walk.py": "from .report import Section\n",
        "latent/a.py": "from . import b\n", "latent/b.py": "from .c import x\n",
        "latent/c.py": "import latentlab.latent.a\n",
    })
    imports = collect_imports(root)
    assert package_cycles(imports) == []  # within one package: invisible to the package graph
    assert module_cycles(imports) == [["latentlab.app.report", "latentlab.app.report_cli"],
                                      ["latentlab.latent.a", "latentlab.latent.b", "latentlab.latent.c"]]


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
