"""Cold start: a command imports only what it needs, the solver's worker is started early, and
the short cuts taken on the way give exactly the answers of the long way.

Laziness is checked structurally (which modules a fresh interpreter has imported after a
command), never by timing.
"""

from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import click
import numpy as np
import pytest

from planner.backends import SolveOptions, SolverResult, Status, isolation
from planner.candidates import CandidateSet
from planner.cli import LAZY_COMMANDS, main
from planner.costing import busy_by_period, busy_summary, standalone_cost
from planner.explain import (
    HIDDEN_REASONS,
    _cheaper_rejections,
    _furthest_per_accelerator,
    _option_costs,
    _rejection_floors,
    _ruled_out,
    explain_workload,
    rejection_cost,
)
from planner.linear import LinearModel
from planner.problem import BatchWorkload, OnlineWorkload, load_problem
from planner.solve import prepare, solve

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


def without_table(candidates: CandidateSet) -> CandidateSet:
    """The same candidates and rejections as plain objects: the explanation's long way."""
    return CandidateSet(tuple(candidates.candidates), tuple(candidates.rejections))


def test_cheaper_rejections_are_those_the_long_way_finds(tmp_path: Path) -> None:
    """Flat, shaped and hourly demand with idle hours, and batch work, at limits from none
    to everything; from the table's arrays and from objects alone."""
    checked = 0
    for path in problems(tmp_path):
        problem, catalog = load_problem(path)
        prepared = prepare(problem, catalog).candidates
        assert prepared.table is not None
        plain = without_table(prepared)
        utilisation = problem.performance.utilisation_cap
        for workload, candidates in itertools.product(problem.workloads, (prepared, plain)):
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
    assert checked > 2000


def test_floors_from_arrays_are_under_the_costs_and_close(tmp_path: Path) -> None:
    """What the explanation scans by: every rejection's and candidate's floor from the
    table's arrays is at most its cost, and within rounding of it (so a wrong floor, too
    high or too low, fails here before it changes an explanation)."""
    for path in problems(tmp_path):
        problem, catalog = load_problem(path)
        candidates = prepare(problem, catalog).candidates
        table = candidates.table
        assert table is not None
        utilisation = problem.performance.utilisation_cap
        for workload in problem.workloads:
            if not isinstance(workload, OnlineWorkload | BatchWorkload):
                continue
            index = table.index[workload.name]
            rejections = candidates.rejections_for(workload.name)
            floors = _rejection_floors(problem, workload, table.rejection_arrays(index),
                                       utilisation).tolist()
            assert len(floors) == len(rejections)
            for rejection, floor in zip(rejections, floors, strict=True):
                cost = rejection_cost(problem, workload, rejection, utilisation)
                if cost is None:
                    assert math.isnan(floor)
                else:
                    assert floor <= cost and floor == pytest.approx(cost, rel=1e-8, abs=1e-9)
            options = candidates.for_workload(workload.name)
            option_floors = _option_costs(problem, workload, options, table).floor.tolist()
            for candidate, floor in zip(options, option_floors, strict=True):
                cost = standalone_cost(problem, workload, candidate)
                assert floor <= cost and floor == pytest.approx(cost, rel=1e-8, abs=1e-9)


def test_busy_summary_is_busy_by_period_summed(tmp_path: Path) -> None:
    """Peaks exactly; sums exactly for online work (whole instances), to rounding for batch."""
    for path in problems(tmp_path):
        problem, catalog = load_problem(path)
        candidates = prepare(problem, catalog).candidates
        for workload in problem.workloads:
            if not isinstance(workload, OnlineWorkload | BatchWorkload):
                continue
            options = candidates.for_workload(workload.name)
            capacity = np.array([c.capacity_rps for c in options])
            replicas = np.array([c.config.replicas_per_instance for c in options])
            total, peak = busy_summary(problem, workload, capacity, replicas)
            for c, summed, highest in zip(options, total.tolist(), peak.tolist(), strict=True):
                busy = busy_by_period(problem, workload, c.capacity_rps,
                                      c.config.replicas_per_instance)
                assert highest == max(busy)
                if isinstance(workload, OnlineWorkload):
                    assert summed == sum(busy)
                else:
                    assert summed == pytest.approx(sum(busy), rel=1e-12)


def test_explanations_from_arrays_are_those_from_objects(tmp_path: Path) -> None:
    """Every line of every serving workload's explanation, at the plan's cost and at costs
    that make most options cheaper, with and without the plan's choices excluded."""
    for path in problems(tmp_path):
        problem, catalog = load_problem(path)
        prepared = prepare(problem, catalog).candidates
        plain = without_table(prepared)
        plan = solve(problem, catalog, explain=False)
        costs = {result.name: result.cost_usd_per_month for result in plan.workloads}
        for workload in problem.workloads:
            if not isinstance(workload, OnlineWorkload | BatchWorkload):
                continue
            mine = [a for a in plan.allocations if a.workload == workload.name]
            for chosen, scale in itertools.product((mine, []), (1.0, 3.0, 100.0)):
                arguments = (chosen, plan.allocations, costs[workload.name] * scale)
                fast = explain_workload(problem, catalog, workload, prepared, *arguments)
                slow = explain_workload(problem, catalog, workload, plain, *arguments)
                assert fast == slow, (path.name, workload.name, scale)
                assert len(fast) > 2
