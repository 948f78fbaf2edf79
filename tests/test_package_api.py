"""The library's public API (docs/package.md): listed in one place, documented, nothing
private leaking through it. Fast: no synth (tests/test_package_wheel.py builds the wheel)."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_PACKAGES = ("cdk_constructs", "compliance", "platform_config")


def _exports(package: str) -> list[tuple[str, object]]:
    module = importlib.import_module(package)
    return [(name, getattr(module, name)) for name in module.__all__]


def _type_checking_names(package: str) -> set[str]:
    """Names the package imports under ``if TYPE_CHECKING:`` (what type checkers see)."""
    tree = ast.parse((ROOT / package / "__init__.py").read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom), ast.unparse(stmt)
                names |= {alias.asname or alias.name for alias in stmt.names}
    return names


@pytest.mark.parametrize("package", ["cdk_constructs", "compliance"])
def test_all_exports_and_type_checking_imports_list_the_same_names(package):
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__)), "a name is listed twice"
    assert set(module.__all__) == set(module._EXPORTS), "__all__ and _EXPORTS differ"
    assert set(module.__all__) == _type_checking_names(package), (
        "__all__ and the TYPE_CHECKING imports differ: type checkers would see other names"
    )
    for name, (module_name, summary) in module._EXPORTS.items():
        assert summary.strip(), f"{package}.{name} has no one-line summary in _EXPORTS"
        defined_in = importlib.import_module(f"{package}.{module_name}")
        assert getattr(defined_in, name) is getattr(module, name)


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_name_imports_from_the_package(package):
    for name in importlib.import_module(package).__all__:
        namespace: dict = {}
        exec(f"from {package} import {name}", namespace)  # the way a consumer imports it
        assert namespace[name] is not None


def test_unknown_names_raise_attribute_error():
    import cdk_constructs

    with pytest.raises(AttributeError, match="PlatformFunction"):
        cdk_constructs.PlatformFunction  # noqa: B018 (internal: bound to this repo's lambda/)


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_nothing_private_is_exported(package):
    for name, obj in _exports(package):
        assert not name.startswith("_"), f"{package}.{name} is private"
        module = getattr(obj, "__module__", "")
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert module.split(".")[0] == package, f"{package}.{name} comes from {module}"


# --- Internal helpers stay private (`_`-prefixed) -----------------------------------------
# The rule, for every module the wheel ships: a module whose path has no `_`-prefixed part
# (the package's __init__ included) is public-looking, so every public-looking name it
# defines or re-exports must be in its package's __all__; everything else lives in a
# `_`-prefixed module or has a `_`-prefixed name. Imported names are not re-exports (the
# typing spec's rules for py.typed libraries): only `import x as x`, `from m import x as x`
# and a module's own __all__ re-export a name.


def _shipped_modules(package: str) -> list[tuple[str, Path]]:
    """(dotted module name, file) of every .py file of ``package`` that the wheel ships."""
    wheel = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["hatch"]["build"][
        "targets"
    ]["wheel"]
    excluded = set(wheel.get("exclude", []))
    modules = []
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in excluded or "__pycache__" in path.parts:
            continue
        dotted = relative[: -len(".py")].replace("/", ".").removesuffix(".__init__")
        modules.append((dotted, path))
    return modules


def _public_looking(dotted: str) -> bool:
    return not any(part.startswith("_") for part in dotted.split(".")[1:])


def _public_names_of(path: Path) -> set[str]:
    """Top-level names a module defines or re-exports (also inside top-level if/try)."""
    names: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
                if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                    names.update(ast.literal_eval(node.value))  # type: ignore[arg-type]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(
                    a.asname for a in node.names if a.asname and a.asname == a.name.split(".")[-1]
                )
            elif isinstance(node, ast.If) and ast.unparse(node.test) != "TYPE_CHECKING":
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(ast.parse(path.read_text()).body)
    return {n for n in names if not n.startswith("_")}


def _leaks(package: str) -> list[str]:
    api = set(importlib.import_module(package).__all__)
    leaks = []
    for dotted, path in _shipped_modules(package):
        if not _public_looking(dotted):
            continue
        for name in sorted(_public_names_of(path) - api):
            leaks.append(f"{dotted}.{name}")
    return leaks


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_internal_helpers_stay_private(package):
    """docs/package.md: the API is the package's __all__; every other name the wheel ships
    is `_`-prefixed, or lives in a `_`-prefixed module, so a consumer can tell."""
    leaks = _leaks(package)
    assert not leaks, (
        f"public-looking names outside {package}.__all__: {leaks}. Prefix the name with `_`, "
        f"move it to a `_`-prefixed module (git mv), or add it to {package}.__all__ "
        "(then it is API: document it in docs/package.md and CHANGELOG.md)"
    )


def test_the_privacy_rule_finds_a_public_helper(tmp_path, monkeypatch):
    """The rule above can fail: a public-looking helper in a public-looking module, or a
    re-export, is reported; the same helper `_`-prefixed, or in a `_` module, is not."""
    package = tmp_path / "somepkg"
    package.mkdir()
    (package / "__init__.py").write_text("__all__ = ['Api']\nfrom somepkg.api import Api\n")
    (package / "api.py").write_text(
        "from typing import Any\nfrom os import sep as sep\n"
        "class Api: ...\ndef helper(): ...\n_private = 1\nLIMIT: int = 3\n"
        "try:\n    import json\n    FAST = True\nexcept ImportError:\n    FAST = False\n"
    )
    (package / "_internal.py").write_text("def helper(): ...\n")
    (tmp_path / "pyproject.toml").write_text("[tool.hatch.build.targets.wheel]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _leaks("somepkg") == [
        "somepkg.api.FAST",
        "somepkg.api.LIMIT",
        "somepkg.api.helper",
        "somepkg.api.sep",
    ]


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_exported_class_and_function_has_its_own_docstring(package):
    undocumented = []
    for name, obj in _exports(package):
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue  # constants are described by their _EXPORTS line
        doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else obj.__doc__
        # A dataclass without a docstring gets its signature as __doc__.
        if not (doc and doc.strip()) or doc.startswith(f"{name}("):
            undocumented.append(name)
    assert not undocumented, f"{package}: no docstring of their own: {undocumented}"


def _exported_constructs() -> list[tuple[str, type]]:
    from constructs import Construct

    return [
        (name, obj)
        for name, obj in _exports("cdk_constructs")
        if inspect.isclass(obj) and issubclass(obj, Construct)
    ]


@pytest.mark.parametrize("name", [n for n, _ in _exported_constructs()])
def test_exported_construct_documents_what_it_refuses(name):
    """Each construct validates its props early; its docstring says what it refuses, in a
    paragraph starting with "Refused", so a consumer knows without reading the code."""
    import cdk_constructs

    cls = getattr(cdk_constructs, name)
    source = inspect.getsource(cls)
    assert "require(" in source, f"{name} validates nothing"
    assert re.search(r"^\s*Refused\b", cls.__doc__, re.M), (
        f"{name}: add a 'Refused: ...' paragraph to the docstring listing what it refuses"
    )


@pytest.mark.parametrize("name", [n for n, _ in _exported_constructs()])
def test_exported_construct_props_use_only_public_types(name):
    """A consumer must be able to build every prop from public names: a prop typed with an
    internal class of the package would force an import of a private module."""
    import cdk_constructs

    cls = getattr(cdk_constructs, name)
    hints = typing.get_type_hints(cls.__init__, vars(sys.modules[cls.__module__]))
    public = [obj for pkg in PUBLIC_PACKAGES for _n, obj in _exports(pkg)]
    for prop, hint in hints.items():
        for part in _type_parts(hint):
            module = getattr(part, "__module__", "")
            if module.split(".")[0] in PUBLIC_PACKAGES:
                assert any(part is obj for obj in public), (
                    f"{name}({prop}=...) needs the internal {part!r}"
                )


def _type_parts(hint: object) -> list[object]:
    parts = [hint]
    for arg in typing.get_args(hint):
        parts += _type_parts(arg)
    return parts


def test_importing_the_packages_does_not_start_jsii():
    """Plain-data modules (workflow definitions, compliance._summary for the review pack) must
    stay importable without loading aws-cdk-lib: the package __init__ files resolve names
    lazily."""
    code = (
        "import sys, cdk_constructs, compliance, compliance._summary, "
        "cdk_constructs._training_workflow_definition; "
        "print(sorted(m for m in ('aws_cdk', 'jsii', 'cdk_nag') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_feature_flags_are_the_ones_the_platform_app_runs_with():
    from cdk_constructs import FEATURE_FLAGS

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    assert FEATURE_FLAGS, "no flags"
    for flag, value in FEATURE_FLAGS.items():
        assert context.get(flag) == value, f"cdk.json and FEATURE_FLAGS disagree on {flag}"


def test_every_package_ships_type_information():
    for package in PUBLIC_PACKAGES:
        assert (ROOT / package / "py.typed").is_file(), f"{package}/py.typed is missing"


def test_the_changelog_describes_the_current_version():
    from cdk_constructs import __version__

    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(
        rf"^## \[{re.escape(__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M
    ), f"CHANGELOG.md has no '## [{__version__}] - YYYY-MM-DD' section"
