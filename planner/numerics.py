"""A warning before solving when the prices in play span too many orders of magnitude.

Solvers work to relative tolerances (the MIP gap is 1e-6 of the objective; feasibility is
checked to about 1e-7), so when one plan mixes prices many orders of magnitude apart, cost
differences among the cheap offers can fall below what the solver resolves next to the
expensive ones, and a price that far from the others is usually a unit mistake (a monthly
price given as hourly, cents as dollars). HiGHS, CBC and SCIP still solve such problems
correctly (tested with $1e-6/h and $1e9/h offers in one catalog); CP-SAT scales them to
integers as finely as int64 allows and reports `feasible` or `error` where it cannot prove
the optimum (see `backends/cpsat.py`).

The span is measured on the hourly prices of the offers and pricing modes the problem allows,
not on the model's objective: the formulation also has per-period and per-unit costs
(`problems/mixed-fleet.yaml` has instance columns costing $7.6e-6 next to $2.1e4 per month,
9.4 orders apart, with every price within 3 orders), which would make a model-based warning
fire on valid problems.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module for `NumericsWarning` alone
    from planner.catalog import Catalog
    from planner.problem import Problem

SPAN_WARNING_ORDERS = 9
"""Warn when the highest allowed hourly price is at least 10**9 times the lowest."""


class NumericsWarning(UserWarning):
    """The problem may be at the edge of the solver's precision."""


def allowed_prices(problem: Problem, catalog: Catalog) -> list[float]:
    """Every hourly price of an offer and pricing mode the problem allows."""
    from planner.candidates import offer_allowed

    prices = []
    for offer in catalog.offers:
        if not offer_allowed(problem, catalog, offer):
            continue
        for mode in problem.allow.pricing:
            price = offer.prices_usd_per_hour.get(mode)
            if price is not None and price > 0:
                prices.append(price)
    return prices


def price_span_message(problem: Problem, catalog: Catalog) -> str | None:
    """The warning text when allowed prices span `SPAN_WARNING_ORDERS` or more, else None."""
    prices = allowed_prices(problem, catalog)
    if not prices:
        return None
    orders = math.log10(max(prices) / min(prices))
    if orders < SPAN_WARNING_ORDERS:
        return None
    return (f"prices span {math.floor(orders + 1e-9)} orders of magnitude "
            f"(${min(prices):.3g}/h to ${max(prices):.3g}/h); the solver resolves cost "
            "differences only to about 1e-6 of the total, so choices among the cheapest offers "
            "may not be exact. Check the catalog for a unit mistake (a monthly price given as "
            "hourly, cents as dollars)")


def warn_if_unstable(problem: Problem, catalog: Catalog) -> None:
    """Issue a `NumericsWarning` when the allowed prices span too many orders of magnitude."""
    message = price_span_message(problem, catalog)
    if message is not None:
        warnings.warn(message, NumericsWarning, stacklevel=2)
