"""The house rules of docs/architecture.md that a reader checks by eye: small modules, short functions.
(The import direction is checked by `lint-imports`, which `make test` runs before pytest.)"""
import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted(path for package in ("idp", "protocols", "admin_ui") for path in (ROOT / package).rglob("*.py")
                 if "migrations" not in path.parts)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _too_long(path):
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    found = [f"{path.relative_to(ROOT)}: {lines} lines"] if lines > MAX_MODULE_LINES else []
    return found + [f"{path.relative_to(ROOT)}:{node.name}: {node.end_lineno - node.lineno + 1} lines"
                    for node in ast.walk(ast.parse(text)) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                    and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]


def test_modules_and_functions_stay_small():
    assert len(SOURCES) > 100  # the tree was found
    assert [problem for path in SOURCES for problem in _too_long(path)] == []
