"""The floor plan holds: every module on a floor, none of ours imported inside a function, doors named."""

from __future__ import annotations

import ast
import configparser
import re
from typing import Any

import pytest

from incident.app import create_app
from tests.support import ROOT

PACKAGES = ("incident", "dispatch", "geo", "bench")


def _modules(packages: tuple[str, ...] = PACKAGES) -> dict[str, ast.Module]:
    found = {}
    for package in packages:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = ast.parse(path.read_text(), str(path))
    return found


def _floors() -> list[str]:
    config = configparser.ConfigParser(inline_comment_prefixes=(";",), comment_prefixes=(";",))
    config.read(ROOT / ".importlinter")
    return [
        m
        for line in config["importlinter:contract:floors"]["layers"].split("\n")
        for m in re.split(r"[:|]", line)
        if m.strip()
    ]


def test_every_module_is_on_a_floor() -> None:
    """A module the floor plan does not name would escape the layering contract: each one is named."""
    floors = [name.strip() for name in _floors()]
    placed = set(floors)
    assert len(floors) == len(placed), "a module is on two floors"
    unplaced = [
        name
        for name, tree in _modules().items()
        if not all(isinstance(n, ast.Expr) for n in tree.body)  # a package's docstring is nothing to place
        and name not in PACKAGES
        and not any(name == floor or name.startswith(floor + ".") for floor in placed)
    ]
    assert unplaced == []
    missing = placed - set(_modules())
    assert missing == set(), "the floor plan names modules that do not exist"


@pytest.mark.parametrize("package", [*PACKAGES, "tests"])
def test_no_function_imports_our_modules(package: str) -> None:
    """Our modules (and the tests' helpers) are imported at the top of a module, never inside a function."""
    inside: list[str] = []
    for name, tree in _modules((*PACKAGES, "tests")).items():
        if name.split(".")[0] != package:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom):
                    targets = [inner.module or ""]
                elif isinstance(inner, ast.Import):
                    targets = [alias.name for alias in inner.names]
                else:
                    continue
                ours = (*PACKAGES, "tests")
                inside += [f"{name}:{inner.lineno} {t}" for t in targets if t.split(".")[0] in ours]
    assert inside == []


def test_no_test_module_imports_another() -> None:
    """Tests share helpers through helper modules, never by importing another test module or a conftest."""
    borrowed = [
        f"{name} imports {node.module}"
        for name, tree in _modules(("tests",)).items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module
        and node.module.startswith("tests.")
        and node.module.rsplit(".", 1)[-1].startswith(("test_", "conftest"))
    ]
    assert borrowed == []


# Programs' doors: the JSON API, Open311 (GeoReport v2) and the health probes. People's: everything else.
_MACHINE_PATHS = ("/api/", "/open311/", "/healthz", "/readyz")


def test_blueprints_are_named_for_who_they_answer(settings: Any, config: Any) -> None:
    """Every blueprint is `<room>_api` (programs: JSON, Open311, probes) or `<room>_pages` (people: HTML)."""
    app = create_app(settings, config)
    for rule in app.url_map.iter_rules():
        blueprint, _, _ = rule.endpoint.rpartition(".")
        if not blueprint:
            continue  # Quart's own: static files, the OpenAPI document
        for_machines = rule.rule.startswith(_MACHINE_PATHS)
        assert blueprint.endswith("_api" if for_machines else "_pages"), f"{rule.endpoint} serves {rule.rule}"
