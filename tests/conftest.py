"""Shared fixtures: tiny problems on a made-up catalog whose optimum is easy to compute.

Every plan any test gets from the pipeline (`planner.solve.solve`, `solve_in_detail`) is
re-checked by `plan check` logic (`planner.verify.check_plan`): for the whole session, both
are replaced, in `planner.solve` and in every already-imported module of the repository that
holds a reference to them, by wrappers that assert the check whenever the plan has
allocations or a cost. A test that makes
`solve` return an invalid plan on purpose opts out with `@pytest.mark.unchecked_plans`; plans
built by hand are not affected. The terminal summary reports how many plans were checked and
how many property-test cases ran (`count_case`).

Hypothesis runs with the `plan` profile (derandomised, so CI runs the same cases every time;
no example database); `pytest --hypothesis-profile=plan-explore` draws new cases.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

import planner.solve
from planner.catalog import Catalog
from planner.plan import Plan
from planner.problem import Problem, load_problem
from planner.solve import solve
from planner.verify import check_plan

settings.register_profile(
    "plan", deadline=None, database=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("plan-explore", parent=settings.get_profile("plan"), derandomize=False)
settings.load_profile("plan")

TESTS = Path(__file__).parent
ROOT = TESTS.parent
TINY_CATALOG = TESTS / "data" / "tiny" / "catalog.yaml"
SHARED_DATA = ROOT.parent / "shared" / "data"


def generated_fleet(workloads: int, seed: int = 0) -> tuple[Problem, Catalog]:
    """A fleet from `benchmarks/generate.py` (realistic rates, a binding budget and quotas)
    with the default catalog; large ones are hard for every solver."""
    name = "plan_benchmark_generate"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / "generate.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses look themselves up there
        spec.loader.exec_module(module)
    return module.generate(workloads, seed), module._catalog()


def write_problem(folder: Path, document: dict[str, Any]) -> Path:
    path = folder / "problem.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def tiny_problem(**overrides: Any) -> dict[str, Any]:
    """One workload at 20 req/s; measured TA bf16 b8 = 10 req/s, TB bf16 b8 = 5 req/s."""
    workload: dict[str, Any] = {
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
    workload.update(overrides.pop("workload", {}))
    document: dict[str, Any] = {"name": "tiny", "catalogs": [str(TINY_CATALOG)], "workloads": [workload]}
    document.update(overrides)
    return document


def checked(problem: Problem, catalog: Catalog, plan: Plan) -> Plan:
    """Assert the plan passes the independent check (when there is a plan)."""
    if plan.allocations or plan.objective_usd_per_month is not None:
        result = check_plan(problem, catalog, plan)
        assert result.valid, (plan.status, plan.solver, result.violations)
    return plan


# every plan from the pipeline is checked -----------------------------------------------------

PIPELINE = {name: getattr(planner.solve, name) for name in ("solve", "solve_in_detail")
            if hasattr(planner.solve, name)}
"""The pipeline's entry points (`solve_in_detail` returns a result with `.plan`), unwrapped."""
COUNTS: Counter[str] = Counter()
"""Session totals for the terminal summary: plans checked, property cases per property."""
_checking: dict[str, Any] = {"on": True, "last": None}


def _checked_entry(original: Callable[..., Any]) -> Callable[..., Any]:
    """`original`, asserting `check_plan` on the plan it returns (each plan once)."""

    @functools.wraps(original)
    def entry(problem: Problem, catalog: Catalog, *args: Any, **kwargs: Any) -> Any:
        result = original(problem, catalog, *args, **kwargs)
        plan = result if isinstance(result, Plan) else getattr(result, "plan", None)
        if (isinstance(plan, Plan) and _checking["on"] and plan is not _checking["last"]
                and (plan.allocations or plan.objective_usd_per_month is not None)):
            checked(problem, catalog, plan)
            _checking["last"] = plan  # `solve` returns `solve_in_detail(...).plan`
            COUNTS["plans checked by check_plan"] += 1
        return result

    return entry


CHECKED = {name: _checked_entry(original) for name, original in PIPELINE.items()}
checked_solve = CHECKED["solve"]


def count_case(prop: str) -> None:
    """Record one property-test case (reported in the terminal summary)."""
    COUNTS[f"property cases: {prop}"] += 1


@pytest.fixture(scope="session", autouse=True)
def _every_plan_is_checked() -> Iterator[None]:
    """Replace the entry points wherever the repository's modules hold them (`from
    planner.solve import solve` binds a name at import); later imports find them replaced."""
    wrapped = {id(original): CHECKED[name] for name, original in PIPELINE.items()}
    with pytest.MonkeyPatch.context() as patch:
        for module in list(sys.modules.values()):
            if not str(getattr(module, "__file__", None) or "").startswith(str(ROOT)):
                continue
            for name, value in list(vars(module).items()):
                if id(value) in wrapped:
                    patch.setattr(module, name, wrapped[id(value)])
        yield


@pytest.fixture(autouse=True)
def _unchecked_plans(request: pytest.FixtureRequest) -> Iterator[None]:
    _checking["on"] = request.node.get_closest_marker("unchecked_plans") is None
    yield
    _checking["on"] = True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "unchecked_plans: plans from solve() are not re-checked "
                            "(the test makes them invalid on purpose)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if COUNTS:
        terminalreporter.write_sep("-", "reliability counts")
        for name, count in sorted(COUNTS.items()):
            terminalreporter.write_line(f"{name}: {count:,}")


@pytest.fixture
def solve_document(tmp_path: Path) -> Callable[..., tuple[Problem, Catalog, Plan]]:
    def run(document: dict[str, Any], solver: str = "highs", prune: bool = True
            ) -> tuple[Problem, Catalog, Plan]:
        problem, catalog = load_problem(write_problem(tmp_path, document))
        plan = solve(problem, catalog, solver, prune=prune)
        return problem, catalog, checked(problem, catalog, plan)

    return run
