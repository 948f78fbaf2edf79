"""ruff (lint and format) and mypy, configured in pyproject.toml, as `make lint` runs them.

The gate tests fail on any ruff finding and any file ruff format would change; mypy runs as
a step of `make test` after pytest (see test_make_test_runs_mypy_after_the_suite).

The configuration tests run now: they show the settings do what pyproject.toml says.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _setting(pattern: str, path: Path) -> str:
    match = re.search(pattern, path.read_text(), re.M)
    assert match, f"{path.name}: no line matching {pattern}"
    return match[1]


LINT_PATHS = _setting(r"^LINT_PATHS := (.+)$", ROOT / "Makefile").split()


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True, timeout=900
    )


def test_ruff_check_is_clean():
    result = _run("ruff", "check", "--no-cache", *LINT_PATHS)
    assert result.returncode == 0, result.stdout[-5000:]


def test_ruff_format_is_applied():
    result = _run("ruff", "format", "--check", "--no-cache", *LINT_PATHS)
    assert result.returncode == 0, result.stdout[-5000:]


def test_make_test_runs_mypy_after_the_suite():
    """mypy takes one to two minutes on a fresh clone (no .mypy_cache), more than the rest of
    a pytest worker's share, so `make test` runs it as its own step after pytest (any error
    fails `make test`); `make lint-python` runs it too."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    steps = [line.strip() for line in recipe.splitlines()[1:]]
    assert "$(VENV)/bin/mypy" in steps
    assert steps.index("$(VENV)/bin/mypy") > next(
        i for i, step in enumerate(steps) if "-m pytest" in step)


def _ruff_stdin(path: str, code: str) -> str:
    result = subprocess.run(
        [
            str(BIN / "ruff"),
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "--stdin-filename",
            path,
        ],
        input=code,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout


def test_ml_code_is_held_to_python_3_9_syntax():
    """ml/ runs in SageMaker's Python 3.9 framework images: ruff must flag 3.10+ syntax
    there (and must not ask for it), while the CDK app's code targets 3.11."""
    code = "def f(x):\n    match x:\n        case 1:\n            return 1\n"
    assert "Python 3.9" in _ruff_stdin("ml/credit_default/probe.py", code)
    assert "invalid-syntax" not in _ruff_stdin("stacks/probe.py", code)

    optional = "from typing import Optional\n\n\ndef f(x: Optional[int]) -> None:\n    pass\n"
    assert "UP045" not in _ruff_stdin("ml/credit_default/probe.py", optional)
    assert "UP045" in _ruff_stdin("stacks/probe.py", optional)


def test_line_length_is_100():
    line = "x = '" + "a" * 93 + "'\n"  # 99 characters, then 101
    assert "E501" not in _ruff_stdin("stacks/probe.py", line)
    assert "E501" in _ruff_stdin("stacks/probe.py", "x = '" + "a" * 95 + "'\n")


def test_lint_covers_the_package_the_stacks_and_the_lambda_code():
    for required in ("cdk_constructs", "compliance", "platform_config", "stacks", "lambda"):
        assert required in LINT_PATHS
    mypy_files = _setting(r"^files = \[(.+)\]$", ROOT / "pyproject.toml")
    for required in ("cdk_constructs", "compliance", "platform_config", "stacks", "lambda"):
        assert f'"{required}"' in mypy_files


def test_the_app_runs_optimized_and_relies_on_no_assert_statement():
    """cdk.json runs the app with ``python3 -O``: jsii's generated bindings type-check every
    argument of every jsii call (typeguard) only under ``__debug__``, and the jsii kernel checks
    the same values again. The test suite builds the app without ``-O``, so those checks still
    run on every construct call here (and tests/test_cli_gate.py shows the optimized CLI synth
    writes the same templates). ``-O`` also drops ``assert`` statements, so no module of the
    project the app imports may use one: it raises instead."""
    import ast
    import json

    assert json.loads((ROOT / "cdk.json").read_text())["app"] == "python3 -O app.py"
    # The project's top-level modules and packages a fresh `import app` loads.
    script = (
        "import sys, app\n"
        f"root = {str(ROOT) + '/'!r}\n"
        "files = [getattr(m, '__file__', None) or '' for m in list(sys.modules.values())]\n"
        "tops = {f[len(root):].split('/')[0] for f in files"
        " if f.startswith(root) and '/.venv/' not in f}\n"
        "print('\\n'.join(sorted(tops)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True,
        timeout=300,
    ).stdout.split()
    assert {"app.py", "cdk_constructs", "compliance", "platform_config", "stacks"} <= set(loaded)
    asserts = []
    for top in loaded:
        path = ROOT / top
        for source in [path] if path.is_file() else sorted(path.rglob("*.py")):
            for node in ast.walk(ast.parse(source.read_text(), str(source))):
                if isinstance(node, ast.Assert):
                    asserts.append(f"{source.relative_to(ROOT)}:{node.lineno}")
    assert asserts == [], "use an if ... raise: python -O drops assert statements"


def test_the_optimized_app_says_when_the_venv_lacks_optimized_bytecode(tmp_path):
    """Without the ``.opt-1.pyc`` files `make install` compiles, every optimized synth compiles
    aws-cdk-lib from source: the app says so. This venv has them (make install); a module with
    no bytecode stands in for a venv without. tests/test_cli_gate.py checks the CLI's optimized
    synth of the sample says nothing."""
    from app import missing_bytecode_hint

    bare = tmp_path / "module.py"
    bare.write_text("")
    assert "make install" in (missing_bytecode_hint(str(bare), optimized=True) or "")
    assert missing_bytecode_hint(optimized=True) is None
    assert missing_bytecode_hint(str(bare), optimized=False) is None
