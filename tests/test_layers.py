"""The house rule: every import of the app points down its layers, and no two parts import each
other. Read from the source with ``ast`` (nothing is imported), so a new upward import fails here
before it can become a knot."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import recommendations

PACKAGE = Path(recommendations.__file__).parent

#: Bottom to top. A part may import its own modules and anything on a lower or the same floor
#: (same floor: only without a cycle). Each part is a top-level module or package of the app.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("types", "conf", "signals", "caches"),
    ("engine",),
    ("models", "redis_client", "fallbacks"),
    ("policies",),
    ("catalog", "stores", "schedules", "retention", "suppression"),
    ("popularity",),
    ("tracking",),
    ("registry",),
    ("training",),
    ("precompute",),
    ("merchandising", "monitoring", "experiments", "marketing", "fraud", "insights"),
    ("serving",),
    ("privacy",),
    (
        "api",
        "templatetags",
        "admin",
        "management",
        "tasks",
        "receivers",
        "middleware",
        "checks",
        "urls",
        "apps",
    ),
)
FLOOR = {part: floor for floor, parts in enumerate(FLOORS) for part in parts}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path) -> list[tuple[str, int]]:
    """Absolute names of the app's modules (or names in them) that ``path`` imports."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                prefix = ".".join(base)
                if node.module:
                    found.append((f"{prefix}.{node.module}", node.lineno))
                else:
                    found += [(f"{prefix}.{alias.name}", node.lineno) for alias in node.names]
            elif node.module:
                found.append((node.module, node.lineno))
                if node.module == "recommendations":
                    found += [(f"recommendations.{a.name}", node.lineno) for a in node.names]
    return [(name, line) for name, line in found if name.startswith("recommendations.")]


def _part(module: str) -> str:
    return module.split(".")[1]


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = (
            _part(_module_name(path)) if path.parent != PACKAGE or path.stem != "__init__" else ""
        )
        if not source:
            continue
        for name, line in _imported(path):
            target = _part(name)
            if target != source:
                edges[(source, target)].append(f"{path.relative_to(PACKAGE.parent)}:{line}")
    return edges


def test_every_part_of_the_app_has_a_floor():
    parts = {
        path.stem if path.is_file() else path.name
        for path in PACKAGE.iterdir()
        if (path.suffix == ".py" and path.stem != "__init__")
        or (path.is_dir() and (path / "__init__.py").exists() and path.name != "migrations")
    }
    assert parts - set(FLOOR) == set(), "give the new part a floor in FLOORS"


def test_no_import_runs_up_the_layers():
    upward = [
        f"{where}: {source} (floor {FLOOR[source]}) imports {target} (floor {FLOOR[target]})"
        for (source, target), places in _edges().items()
        for where in places
        if FLOOR[target] > FLOOR[source]
    ]
    assert upward == []


def test_no_two_parts_import_each_other():
    graph: dict[str, set[str]] = defaultdict(set)
    for source, target in _edges():
        graph[source].add(target)
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_models_import_nothing_above_the_vocabulary():
    above = sorted(
        f"{where}: models imports {target}"
        for (source, target), places in _edges().items()
        for where in places
        if source == "models" and target not in ("types", "conf")
    )
    assert above == []


def test_the_engine_knows_nothing_of_django_or_the_app():
    offenders = []
    for path in sorted((PACKAGE / "engine").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            offenders += [
                f"{path.relative_to(PACKAGE.parent)}: {name}"
                for name in names
                if name.split(".")[0] in ("django", "rest_framework", "celery")
                or (
                    name.startswith("recommendations.")
                    and not name.startswith("recommendations.engine")
                )
            ]
    assert offenders == []


def test_slot_and_scenario_spellings_live_in_the_vocabulary_only():
    """The two spellings (``for-you`` and ``for_you``) appear as string literals only in
    ``types.py`` (and settings defaults, which users write), so they cannot drift apart."""
    spellings = {"for-you", "for_you", "similar_item", "bought_together", "also-viewed"}
    allowed = {"types.py", "conf.py"}
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts or path.name in allowed or "engine" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in spellings:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}")
    assert found == []
