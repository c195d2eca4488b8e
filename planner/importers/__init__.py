"""Importers: public price formats -> catalog offer files (`plan catalog import`).

Formats: `skypilot` (SkyPilot catalog vms.csv, v6 and v8), `azure` (Retail Prices API JSON),
`aws` (Price List offer JSON or bulk CSV), `gcp` (Cloud Billing Catalog SKUs JSON). Each module
turns its rows into `PriceRow`s; `common.build_offers` checks them for known defects, maps
accelerators to the catalog's canonical names and merges zones.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from planner.catalog import Catalog
from planner.errors import input_error
from planner.importers.common import AcceleratorMapper, ImportReport, build_offers, render_catalog

FORMATS = ("skypilot", "azure", "aws", "gcp")
MAX_BYTES = 200_000_000


@dataclass
class ImportResult:
    offers: list[dict[str, object]]
    report: ImportReport
    text: str


def run_import(fmt: str, path: Path, catalog: Catalog, as_of: dt.date | None = None,
               provider: str | None = None) -> ImportResult:
    """Read `path` in format `fmt`; return the offers, the report and the catalog YAML text.

    Raises:
        InputError: unreadable file or not the named format.
    """
    from planner.importers import aws, azure, gcp, skypilot

    file = str(path)
    if fmt not in FORMATS:
        raise input_error(file, f"unknown format '{fmt}' (one of {', '.join(FORMATS)})", "--from")
    if not path.is_file():
        raise input_error(file, "file not found" if not path.exists() else "not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise input_error(file, f"file is over {MAX_BYTES // 1_000_000} MB")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise input_error(file, f"cannot read as UTF-8 text ({exc})") from None
    report = ImportReport(fmt, path.name)
    found_date: dt.date | None = None
    mapper = AcceleratorMapper(catalog)
    try:
        if fmt == "skypilot":
            rows = skypilot.read(path, text, report, provider)
        elif fmt == "azure":
            rows = azure.read(path.name, text, report)
        elif fmt == "gcp":
            rows = gcp.read(path.name, text, report)
        elif text.lstrip().startswith("{"):
            rows = aws.read_json(path.name, text, report)
        else:
            rows = aws.read_csv(path.name, text, report)
            found_date = _aws_publication_date(text)
    except json.JSONDecodeError as exc:
        raise input_error(file, f"not valid JSON ({exc})", line=exc.lineno) from None
    except ValueError as exc:
        raise input_error(file, str(exc), "--from") from None
    date = as_of or found_date or dt.date.today()
    offers = build_offers(rows, mapper, report, date, f"{fmt} {path.name}")
    report.offers_written = len(offers)
    header = (f"Imported by `plan catalog import --from {fmt} {path.name}`: {report.summary()}.\n"
              "Units: prices_usd_per_hour = USD per hour for the whole instance.")
    return ImportResult(offers, report, render_catalog(offers, header))


def _aws_publication_date(text: str) -> dt.date | None:
    for line in text.splitlines()[:5]:
        if line.startswith('"Publication Date"'):
            value = line.split(",", 1)[1].strip().strip('"')
            try:
                return dt.date.fromisoformat(value[:10])
            except ValueError:
                return None
    return None
