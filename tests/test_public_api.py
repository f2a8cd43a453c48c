"""The public Python API: what ``audience`` and its packages export, and what importing costs.

Every package a notebook uses names its public objects in ``__all__`` and loads them on first
use (PEP 562), so ``import audience`` -- which the command line does first -- stays cheap.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import audience

SRC = Path(audience.__file__).resolve().parents[1]

STAGES = [
    "audience.ingest",
    "audience.quality",
    "audience.features",
    "audience.segmentation",
    "audience.predictive",
    "audience.rules",
    "audience.activation",
    "audience.realtime",
    "audience.privacy",
    "audience.report",
    "audience.mlops",
]
CORE = ["audience.store", "audience.model", "audience.config"]
PUBLIC = ["audience", *STAGES, *CORE, "audience.pipelines"]
LAZY = [name for name in PUBLIC if name != "audience.config"]
"""Packages whose names load on first use (``audience.config`` defines its own, eagerly)."""

HEAVY = ("numpy", "pandas", "scipy", "sklearn", "duckdb", "matplotlib")


def exports(package: str) -> list[str]:
    names: list[str] = importlib.import_module(package).__all__
    return names


def resolve(package: str, name: str) -> object:
    return getattr(importlib.import_module(package), name)


@pytest.mark.parametrize("package", PUBLIC)
def test_every_exported_name_resolves(package: str) -> None:
    names = exports(package)
    assert names, f"{package} exports nothing"
    assert len(names) == len(set(names)), f"{package}.__all__ repeats a name"
    for name in names:
        value = resolve(package, name)
        # A submodule of the same name would shadow a lazily exported object.
        assert not isinstance(value, ModuleType), f"{package}.{name} is a module"
        assert not name.startswith("_"), f"{package}.{name} is private"


def test_every_package_that_declares_all_exports_what_it_names() -> None:
    walked = pkgutil.walk_packages(audience.__path__, "audience.")
    packages = ["audience", *(info.name for info in walked if info.ispkg)]
    assert set(PUBLIC) <= set(packages)
    for package in packages:
        for name in getattr(importlib.import_module(package), "__all__", ()):
            assert hasattr(importlib.import_module(package), name), f"{package}.{name}"


@pytest.mark.parametrize("package", PUBLIC)
def test_dir_lists_every_exported_name(package: str) -> None:
    module = importlib.import_module(package)
    assert set(exports(package)) <= set(dir(module))


def test_dir_of_audience_lists_the_notebook_names() -> None:
    listed = dir(audience)
    for name in ("Workspace", "import_file", "clean_workspace", "run_segmentation", "generate"):
        assert name in listed
    for name in ("AutoSegmenter", "RFMSegmenter", "BetaGeoModel", "run_clv", "run_churn"):
        assert name in listed
    for name in ("load_activation", "evaluate", "LiveEvaluator", "SystemClock", "FixedClock"):
        assert name in listed
    assert "AudienceError" in listed and "__version__" in listed


def test_every_error_of_the_tree_is_exported() -> None:
    from audience import errors

    tree = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.AudienceError)
    }
    assert tree <= set(audience.__all__)


def test_star_import_gives_every_name() -> None:
    namespace: dict[str, object] = {}
    exec("from audience import *", namespace)
    assert set(audience.__all__) <= set(namespace)


@pytest.mark.parametrize("package", LAZY)
def test_unknown_names_raise_attribute_error(package: str) -> None:
    module = importlib.import_module(package)
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = module.no_such_name
    assert not hasattr(module, "no_such_name")


@pytest.mark.parametrize("package", LAZY)
def test_no_exported_name_is_also_a_submodule(package: str) -> None:
    # Once `package.x` is imported, Python sets the attribute `x` to the module and PEP 562's
    # __getattr__ is never asked again: a function `x` could not be exported from there.
    module = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    assert not submodules & set(exports(package))


def test_stage_names_are_the_objects_audience_exports() -> None:
    for package in [*STAGES, *CORE, "audience.pipelines"]:
        for name in set(exports(package)) & set(audience.__all__):
            assert resolve(package, name) is resolve("audience", name), f"{package}.{name}"


LAZY_LOADER = "audience.lazy_exports"
"""The one module every lazy package imports at once: it loads the others on first use."""


def _imports(tree: ast.AST) -> set[tuple[str, str]]:
    return {
        (node.module or "", alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("audience")
        and node.module != LAZY_LOADER
        for alias in node.names
    }


def _type_checking_block(tree: ast.Module) -> ast.If:
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If)
        and isinstance(node.test, ast.Name)
        and node.test.id == "TYPE_CHECKING"
    ]
    return block


@pytest.mark.parametrize("package", LAZY)
def test_type_checkers_see_the_names_the_runtime_loads(package: str) -> None:
    """The imports type checkers read agree with the table the lazy loader follows.

    ``audience`` keeps them in its stub ``__init__.pyi``: under ``if TYPE_CHECKING:`` in
    ``__init__.py`` they would be imports of every stage as far as ``lint-imports`` can tell.
    """
    module = importlib.import_module(package)
    origin: dict[str, str] = module._ORIGIN
    expected = {(f"{package}.{where}", name) for name, where in origin.items()}
    init = Path(module.__file__ or "")
    if package == "audience":
        seen = _imports(ast.parse(init.with_suffix(".pyi").read_text(encoding="utf-8")))
        assert not _imports(ast.parse(init.read_text(encoding="utf-8")))
    else:
        seen = _imports(_type_checking_block(ast.parse(init.read_text(encoding="utf-8"))))
    assert seen == expected
    assert set(origin) == set(module.__all__)


def _modules_after(statement: str) -> list[str]:
    """Modules loaded by ``statement`` in a fresh interpreter running this source tree."""
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)
    script = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


def test_import_audience_loads_no_stage_and_no_heavy_library() -> None:
    loaded = _modules_after("import audience")
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    assert [m for m in loaded if m.startswith("audience")] == ["audience", LAZY_LOADER]


@pytest.mark.parametrize("package", [*STAGES, *CORE, "audience.pipelines"])
def test_importing_a_package_loads_only_itself(package: str) -> None:
    loaded = _modules_after(f"import {package}")
    assert [m for m in loaded if m.split(".")[0] in HEAVY] == []
    ours = {m for m in loaded if m.startswith("audience")}
    if package == "audience.config":  # defines WorkspaceConfig from its own modules
        assert {m for m in ours if not m.startswith("audience.config")} == {
            "audience",
            "audience.errors",
            LAZY_LOADER,
        }
    else:
        assert ours == {"audience", LAZY_LOADER, package}
