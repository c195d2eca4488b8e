"""Shared fixtures: tiny problems on a made-up catalog whose optimum is easy to compute.

Every plan a test produces through `solve_text` is re-checked by `plan check` logic
(`planner.verify.check_plan`), so a regression anywhere shows up as an invalid plan.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from planner.catalog import Catalog
from planner.plan import Plan
from planner.problem import Problem, load_problem
from planner.solve import solve
from planner.verify import check_plan

TESTS = Path(__file__).parent
ROOT = TESTS.parent
TINY_CATALOG = TESTS / "data" / "tiny" / "catalog.yaml"
SHARED_DATA = ROOT.parent / "shared" / "data"


def write_problem(folder: Path, document: dict) -> Path:  # type: ignore[type-arg]
    path = folder / "problem.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def tiny_problem(**overrides: object) -> dict:  # type: ignore[type-arg]
    """One workload at 20 req/s; measured TA bf16 b8 = 10 req/s, TB bf16 b8 = 5 req/s."""
    workload = {
        "name": "chat",
        "model": "tiny-8b",
        "rate_rps": 20,
        "tokens": {"prompt": 500, "output": 100},
        "variants": ["bf16"],
        "batch_sizes": [8],
        "max_spot_share": 0.5,
        "min_replicas": 2,
        "measured": [
            {"accelerator": "TA", "batch": 8, "throughput_rps": 10, "ttft_ms": 100,
             "tpot_ms": 20},
            {"accelerator": "TB", "batch": 8, "throughput_rps": 5, "ttft_ms": 200,
             "tpot_ms": 40},
            {"accelerator": "TA", "variant": "int8", "batch": 8, "throughput_rps": 20,
             "ttft_ms": 80, "tpot_ms": 15},
        ],
    }
    workload.update(overrides.pop("workload", {}))  # type: ignore[arg-type]
    document = {"name": "tiny", "catalogs": [str(TINY_CATALOG)], "workloads": [workload]}
    document.update(overrides)
    return document


def checked(problem: Problem, catalog: Catalog, plan: Plan) -> Plan:
    """Assert the plan passes the independent check (when there is a plan)."""
    if plan.objective_usd_per_month is not None:
        result = check_plan(problem, catalog, plan)
        assert result.valid, result.violations
    return plan


@pytest.fixture
def solve_document(tmp_path: Path):  # type: ignore[no-untyped-def]
    def run(document: dict, solver: str = "highs", prune: bool = True  # type: ignore[type-arg]
            ) -> tuple[Problem, Catalog, Plan]:
        problem, catalog = load_problem(write_problem(tmp_path, document))
        plan = solve(problem, catalog, solver, prune=prune)
        return problem, catalog, checked(problem, catalog, plan)

    return run
