"""Cold start: a command imports only what it needs, the solver's worker is started early, and
the short cuts taken on the way give exactly the answers of the long way.

Laziness is checked structurally (which modules a fresh interpreter has imported after a
command), never by timing.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import click
import pytest

from planner.backends import SolveOptions, SolverResult, Status, isolation
from planner.cli import LAZY_COMMANDS, main
from planner.explain import (
    HIDDEN_REASONS,
    _cheaper_rejections,
    _furthest_per_accelerator,
    _ruled_out,
    rejection_cost,
)
from planner.linear import LinearModel
from planner.problem import BatchWorkload, OnlineWorkload, load_problem
from planner.solve import prepare

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "problems" / "quickstart.yaml"

REPORT_MODULES = """
import json, sys
from planner.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    sys.stderr.write("\\nMODULES " + json.dumps(sorted(sys.modules)) + "\\n")
"""

SOLVER_LIBRARIES = {"pulp", "ortools", "highspy"}
"""Imported by the worker process only (CP-SAT's backend module imports ortools)."""
OTHER_COMMANDS = {"planner.audit_commands", "planner.requestlog", "planner.catalog_commands",
                  "planner.explain_commands", "planner.export_commands",
                  "planner.negotiate_commands", "planner.export"}
HEAVY_EXTRAS = {"matplotlib", "planner.report_html", "planner.frontier", "planner.audit",
                "planner.sensitivity", "planner.explanation", "planner.whatif"}


def imported_by(*args: str) -> set[str]:
    """Top-level packages and planner modules a fresh interpreter imports to run `plan args`."""
    run = subprocess.run([sys.executable, "-c", REPORT_MODULES, *args], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    modules = json.loads(run.stderr.rsplit("MODULES ", 1)[1])
    return {name.split(".")[0] for name in modules} | {
        name for name in modules if name.startswith("planner.")}


def test_help_imports_no_solver_numpy_pydantic_or_yaml() -> None:
    imported = imported_by("--help")
    assert not imported & (SOLVER_LIBRARIES | {"numpy", "pydantic", "yaml", "multiprocessing"})


def test_a_command_imports_no_other_command() -> None:
    imported = imported_by("solve", "--help")
    assert not imported & (OTHER_COMMANDS | SOLVER_LIBRARIES | {"numpy", "pydantic"})


def test_solve_imports_neither_solver_libraries_nor_other_commands() -> None:
    imported = imported_by("solve", str(QUICKSTART))
    assert "planner.solve" in imported
    assert not imported & (SOLVER_LIBRARIES | OTHER_COMMANDS | HEAVY_EXTRAS)
    assert "planner.relaxations" not in imported  # only for a diagnosis
    assert "planner.pinning" not in imported  # only with pins


def test_every_lazy_command_is_listed_and_loads_under_its_name() -> None:
    context = click.Context(main)
    assert set(main.list_commands(context)) == {*LAZY_COMMANDS, "solve", "check"}
    for name in LAZY_COMMANDS:
        command = main.get_command(context, name)
        assert command is not None and command.name == name


# the worker, started early ----------------------------------------------------------------

IMPORTS: list[str] = []
"""What `SlowToImport.import_solver` did, in the process it ran in."""


class SlowToImport:
    """A backend whose solver library warns when imported; it answers with what the worker had
    imported by the time the request came."""

    name = "slow"

    def solve(self, model: LinearModel, options: SolveOptions) -> SolverResult:
        return isolation.solve_isolated(self, model, options)

    def import_solver(self) -> None:
        IMPORTS.append("library")
        warnings.warn("the library is deprecated", DeprecationWarning, stacklevel=1)

    def solve_here(self, model: LinearModel, options: SolveOptions,
                   progress: isolation.Progress) -> SolverResult:
        return SolverResult(Status.optimal, 0.0, 0.0, (), 0.0, self.name, ",".join(IMPORTS))


def test_a_prestarted_worker_imports_the_solver_once_and_passes_its_warnings_on() -> None:
    isolation._discard_worker()
    try:
        isolation.prestart(SlowToImport())
        worker = isolation._worker
        assert worker is not None
        isolation.prestart(SlowToImport())  # one is running: it stays
        assert isolation._worker is worker
        with pytest.warns(DeprecationWarning, match="the library is deprecated"):
            first = SlowToImport().solve(LinearModel(), SolveOptions(time_limit_s=10))
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the import's warnings come once
            second = SlowToImport().solve(LinearModel(), SolveOptions(time_limit_s=10))
        assert isolation._worker is worker
    finally:
        isolation._discard_worker()
    assert first.message == second.message == "library"  # in the worker, before the request
    assert IMPORTS == []  # not here


# the explanation's short cut --------------------------------------------------------------

UNEVEN = """
name: uneven
catalogs: [default]
workloads:
  - name: nights-off
    model: llama-3.1-8b
    profile_rps: [0, 0, 0, 0, 0, 0, 1, 2, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 2, 1, 0, 0, 0, 0]
    tokens: {prompt: 1000, output: 200}
    slo: {ttft_ms: 1500, tpot_ms: 60}
    min_replicas: 0
  - kind: batch
    name: nightly
    model: llama-3.1-8b
    requests_per_day: 100000
    tokens: {prompt: 2000, output: 200}
    window: {start_hour: 22, end_hour: 6}
"""


def problems(tmp_path: Path) -> list[Path]:
    uneven = tmp_path / "uneven.yaml"
    uneven.write_text(UNEVEN, encoding="utf-8")
    return [QUICKSTART, ROOT / "problems" / "mixed-fleet.yaml", uneven]


def test_cheaper_rejections_are_those_the_long_way_finds(tmp_path: Path) -> None:
    """Flat, shaped and hourly demand with idle hours, and batch work, at limits from none
    to everything."""
    checked = 0
    for path in problems(tmp_path):
        problem, catalog = load_problem(path)
        candidates = prepare(problem, catalog).candidates
        utilisation = problem.performance.utilisation_cap
        for workload in problem.workloads:
            if not isinstance(workload, OnlineWorkload | BatchWorkload):
                continue
            costed: list[tuple[Any, float]] = []
            for rejection in candidates.rejections_for(workload.name):
                cost = rejection_cost(problem, workload, rejection, utilisation)
                if rejection.reason not in HIDDEN_REASONS and cost is not None:
                    costed.append((rejection, cost))
            costs = sorted(cost for _, cost in costed)
            limits = [0.0, costs[len(costs) // 4], costs[len(costs) // 2], costs[-1], math.inf]
            for limit in limits:
                expected = [(r, cost) for r, cost in costed if cost < limit]
                found = list(_cheaper_rejections(problem, workload, candidates, limit))
                assert found == expected, (path.name, workload.name, limit)
                # what the explanation shows, costing only what could be picked
                assert _ruled_out(problem, workload, candidates, limit) == \
                    _furthest_per_accelerator(expected, workload.model), (path.name, limit)
                checked += len(expected)
    assert checked > 1000
