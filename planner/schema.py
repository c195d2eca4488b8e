"""Reusable pydantic building blocks for problem and catalog files."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

HOURS_PER_MONTH = 730.0
"""Average hours in a month (8,760 / 12), the convention cloud price sheets use."""


class Strict(BaseModel):
    """Frozen model that rejects unknown keys; the base of every file schema."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


PositiveFloat = Annotated[float, Field(gt=0, lt=1e12)]
NonNegativeFloat = Annotated[float, Field(ge=0, lt=1e12)]
Fraction = Annotated[float, Field(ge=0, le=1)]
PositiveInt = Annotated[int, Field(gt=0, le=1_000_000)]
NonNegativeInt = Annotated[int, Field(ge=0, le=1_000_000)]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/+ -]*$")]


class Sourced(Strict):
    """A catalog row: every fact carries where it came from and when."""

    source: str = Field(min_length=3, description="Public source of the figures in this row.")
    as_of: dt.date = Field(description="Date the figures were read or published.")
