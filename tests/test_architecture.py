"""The package's shape, checked: no import cycle, each layer imports only what it may, no
file over 400 lines, no process-wide state changed by importing it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "agentic_image_gen"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every module of ours that ``path`` imports: at the top, in functions, or for typing."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(), str(path))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            names = [arg.value for arg in node.args if isinstance(arg, ast.Constant)]
        else:
            continue
        found.update(name for name in names if name in known)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(path, known) - {name} for name, path in found.items()}


def test_the_graph_sees_imports() -> None:
    """The checks below are only as good as this reading of the imports."""
    edges = graph()
    assert "agentic_image_gen.engine.session" in edges["agentic_image_gen.frontends.run_command"]
    assert "agentic_image_gen.core.types" in edges["agentic_image_gen.engine.loop"]


def test_no_import_cycle() -> None:
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


# Who may import whom (prefixes of module names). Front ends reach the engine only through
# its API; providers know only the core, the provider base and their own package.
ROOT = "agentic_image_gen"
API = (
    f"{ROOT}.engine.session",
    f"{ROOT}.engine.runs",
    f"{ROOT}.engine.installed",
    f"{ROOT}.engine.limits",
    f"{ROOT}.engine.review",  # PendingReviews: the reviewer of front ends that answer later
)
RULES: dict[str, tuple[str, ...]] = {
    f"{ROOT}.core": (f"{ROOT}.core",),
    f"{ROOT}.inputs": (f"{ROOT}.core", f"{ROOT}.inputs"),
    f"{ROOT}.store": (
        f"{ROOT}.core",
        f"{ROOT}.store",
        f"{ROOT}.inputs.imaging",
        f"{ROOT}.inputs.normalise",
    ),
    f"{ROOT}.pixels": (
        f"{ROOT}.core",
        f"{ROOT}.pixels",
        f"{ROOT}.inputs.imaging",
        f"{ROOT}.inputs.normalise",
    ),
    f"{ROOT}.providers.base": (f"{ROOT}.core",),
    f"{ROOT}.providers.registry": (f"{ROOT}.core", f"{ROOT}.providers.base"),
    f"{ROOT}.providers.openai": (
        f"{ROOT}.core",
        f"{ROOT}.providers.base",
        f"{ROOT}.providers.openai",
        f"{ROOT}.inputs.imaging",
        f"{ROOT}.inputs.normalise",
        f"{ROOT}.inputs.tls",
    ),
    f"{ROOT}.providers.local": (
        f"{ROOT}.core",
        f"{ROOT}.providers.base",
        f"{ROOT}.providers.local",
        f"{ROOT}.pixels",
        f"{ROOT}.inputs.imaging",
        f"{ROOT}.inputs.normalise",
    ),
    f"{ROOT}.engine": (
        f"{ROOT}.core",
        f"{ROOT}.engine",
        f"{ROOT}.store",
        f"{ROOT}.inputs",
        f"{ROOT}.pixels",
        f"{ROOT}.providers.base",
        f"{ROOT}.providers.registry",
    ),
    f"{ROOT}.frontends": (f"{ROOT}.core", f"{ROOT}.frontends", *API),
}


@pytest.mark.parametrize("layer", sorted(RULES))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    allowed = RULES[layer]
    wrong = {
        f"{source} imports {target}"
        for source, targets in graph().items()
        if source == layer or source.startswith(layer + ".")
        for target in targets
        if not any(target == a or target.startswith(a + ".") for a in allowed)
    }
    assert wrong == set()


PIXEL_LIBRARIES = ("numpy", "cv2", "PIL", "skimage")


def test_the_engine_does_no_pixel_work() -> None:
    """The engine orchestrates: its steps call pixels/, and no engine module imports an
    image or array library (at the top, in a function or for typing)."""
    found = set()
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            found |= {
                f"{path.name} imports {name}"
                for name in names
                if name.split(".")[0] in PIXEL_LIBRARIES
            }
    assert found == set()
    assert "from agentic_image_gen.pixels" in (PACKAGE / "engine" / "lock.py").read_text()


def test_no_package_file_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): count
        for path in PACKAGE.rglob("*")
        if path.suffix in (".py", ".j2")
        and (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_importing_everything_changes_no_process_wide_state() -> None:
    """A host program (a web server, a notebook) keeps its own Pillow limits and warnings."""
    names = sorted(modules())
    script = (
        "import warnings, PIL.Image as I, sys, importlib\n"
        # Third-party libraries may set filters of their own as they load: only ours count.
        "import numpy, cv2, openai, jinja2, httpx, pydantic, rich.console\n"
        "import scipy.ndimage, scipy.special, skimage.color, skimage.metrics\n"
        "before = (I.MAX_IMAGE_PIXELS, list(warnings.filters), sys.getrecursionlimit())\n"
        f"for name in {names!r}:\n"
        "    if not name.endswith('__main__'): importlib.import_module(name)\n"
        "after = (I.MAX_IMAGE_PIXELS, list(warnings.filters), sys.getrecursionlimit())\n"
        "print(before == after)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip() == "True", done.stderr


def test_help_imports_no_sdk_and_no_image_library() -> None:
    script = (
        "import sys\n"
        "from agentic_image_gen.frontends import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('openai', 'PIL', 'numpy', 'cv2', 'jinja2', 'httpx')"
        " if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout + done.stderr


BENCH_HELP = """\
import runpy, sys, traceback
failed = []
for path in sys.argv[1:]:
    sys.argv = [path, "--help"]
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (0, None):
            failed.append(f"{path}: exit {stop.code}")
    except BaseException:
        failed.append(f"{path}: {traceback.format_exc()[-1500:]}")
sys.stderr.write("".join(f"FAILED {line}\\n" for line in failed))
"""


def test_every_bench_script_still_runs_on_todays_api() -> None:
    """Benches are not run by the suite; their --help at least imports what they use (all
    in one process: one interpreter start, not one a script)."""
    scripts = sorted(
        str(p) for p in (PACKAGE.parent / "bench").glob("*.py") if p.name != "remote_fake.py"
    )
    assert len(scripts) >= 10
    done = subprocess.run(
        [sys.executable, "-c", BENCH_HELP, *scripts], capture_output=True, text=True, timeout=300,
        cwd=PACKAGE.parent / "bench",
    )
    assert done.returncode == 0 and "FAILED " not in done.stderr, done.stderr[-3000:]
    assert done.stdout.count("usage: ") == len(scripts)  # every one printed its help
