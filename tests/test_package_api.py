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
