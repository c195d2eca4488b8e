"""AWS Price List: the offer JSON (`products` + `terms`) and the bulk CSV (5 preamble lines,
header on line 6).

Only Linux, shared-tenancy, no pre-installed software, "Used" capacity rows count. On-demand =
the hourly price; reserved effective hourly = hourly + upfront / (8760 x years), the cheapest
standard offering per term (1yr, 3yr). Spot prices are not in the price list. The accelerator
comes from the instance family (`p4d` = A100, `g5` = A10G ...), its count from the `GPU`
attribute (checked against the instance name).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from planner.importers.common import HOURS_PER_YEAR, ImportReport, PriceRow, parse_count, parse_price
from planner.importers.instances import aws_instance

# Price List locations -> region codes, for files without a regionCode attribute
LOCATIONS = {
    "US East (N. Virginia)": "us-east-1", "US East (Ohio)": "us-east-2",
    "US West (N. California)": "us-west-1", "US West (Oregon)": "us-west-2",
    "Canada (Central)": "ca-central-1", "EU (Frankfurt)": "eu-central-1", "EU (Ireland)": "eu-west-1",
    "EU (London)": "eu-west-2", "EU (Paris)": "eu-west-3", "EU (Stockholm)": "eu-north-1",
    "Europe (Frankfurt)": "eu-central-1", "Europe (Ireland)": "eu-west-1", "Europe (London)": "eu-west-2",
    "Europe (Paris)": "eu-west-3", "Europe (Stockholm)": "eu-north-1",
    "Asia Pacific (Tokyo)": "ap-northeast-1", "Asia Pacific (Seoul)": "ap-northeast-2",
    "Asia Pacific (Mumbai)": "ap-south-1", "Asia Pacific (Singapore)": "ap-southeast-1",
    "Asia Pacific (Sydney)": "ap-southeast-2", "South America (Sao Paulo)": "sa-east-1",
}


@dataclass
class _Product:
    ref: str
    attributes: dict[str, str]
    on_demand: list[float] = field(default_factory=list)
    reserved: dict[int, list[float]] = field(default_factory=dict)  # years -> effective hourly
    hourly: dict[str, float] = field(default_factory=dict)  # reserved term code -> hourly part
    upfront: dict[str, float] = field(default_factory=dict)
    term_years: dict[str, int] = field(default_factory=dict)


def _wanted(attributes: dict[str, str]) -> str | None:
    """Why a product is not a plain Linux on-demand-style instance, or None."""
    get = attributes.get
    if get("productFamily", "Compute Instance") not in ("Compute Instance", "Compute Instance (bare metal)"):
        return "not a compute instance"
    if get("operatingSystem", "Linux") != "Linux":
        return "not Linux"
    if get("tenancy", "Shared") != "Shared":
        return "not shared tenancy"
    if get("preInstalledSw", "NA") not in ("NA", ""):
        return "pre-installed software"
    if get("capacitystatus", "Used") not in ("Used", ""):
        return "capacity reservation row"
    return None


def _years(text: str) -> int | None:
    return {"1yr": 1, "3yr": 3, "1 yr": 1, "3 yr": 3}.get(text.strip().lower())


def read_json(name: str, text: str, report: ImportReport) -> list[PriceRow]:
    data: Any = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("products"), dict):
        raise ValueError("not an AWS Price List offer file: no 'products'")
    products: dict[str, _Product] = {}
    for sku, product in data["products"].items():
        attributes = {str(k): str(v) for k, v in (product.get("attributes") or {}).items()}
        attributes["productFamily"] = str(product.get("productFamily", "Compute Instance"))
        products[sku] = _Product(f"{name}:products.{sku}", attributes)
    report.rows_read = len(products)
    terms = data.get("terms") or {}
    for sku, offers in (terms.get("OnDemand") or {}).items():
        for offer in offers.values():
            for dimension in (offer.get("priceDimensions") or {}).values():
                price = parse_price((dimension.get("pricePerUnit") or {}).get("USD"))
                if sku in products and dimension.get("unit") == "Hrs" and price is not None:
                    products[sku].on_demand.append(price)
    for sku, offers in (terms.get("Reserved") or {}).items():
        if sku not in products:
            continue
        for offer in offers.values():
            attributes = offer.get("termAttributes") or {}
            years = _years(str(attributes.get("LeaseContractLength", "")))
            if years is None or attributes.get("OfferingClass", "standard") != "standard":
                continue
            hourly = upfront = 0.0
            for dimension in (offer.get("priceDimensions") or {}).values():
                price = parse_price((dimension.get("pricePerUnit") or {}).get("USD")) or 0.0
                if dimension.get("unit") == "Hrs":
                    hourly += price
                elif dimension.get("unit") == "Quantity":
                    upfront += price
            products[sku].reserved.setdefault(years, []).append(hourly + upfront / (HOURS_PER_YEAR * years))
    return _rows(products.values(), report)


def read_csv(name: str, text: str, report: ImportReport) -> list[PriceRow]:
    lines = text.splitlines()
    if len(lines) < 6 or not lines[0].startswith('"FormatVersion"'):
        raise ValueError("not an AWS Price List CSV: expected 5 preamble lines (FormatVersion ...) "
                         "and the header on line 6")
    reader = csv.DictReader(io.StringIO("\n".join(lines[5:])))
    products: dict[str, _Product] = {}
    count = 0
    for record in reader:
        count += 1
        line = reader.line_num + 5
        sku = record.get("SKU", "")
        product = products.get(sku)
        if product is None:
            attributes = {
                "productFamily": record.get("Product Family", ""),
                "instanceType": record.get("Instance Type", ""),
                "operatingSystem": record.get("Operating System", ""), "tenancy": record.get("Tenancy", ""),
                "preInstalledSw": record.get("Pre Installed S/W", ""),
                "capacitystatus": record.get("CapacityStatus", ""), "location": record.get("Location", ""),
                "regionCode": record.get("Region Code", ""), "gpu": record.get("GPU", ""),
            }
            product = products[sku] = _Product(f"{name}:{line}", attributes)
        else:
            product.ref += f",{line}"
        price = parse_price(record.get("PricePerUnit"))
        unit = record.get("Unit", "")
        if record.get("TermType") == "OnDemand":
            if unit == "Hrs" and price is not None:
                product.on_demand.append(price)
        elif record.get("TermType") == "Reserved":
            years = _years(record.get("LeaseContractLength", ""))
            if years is None or record.get("OfferingClass", "standard") != "standard":
                continue
            code = record.get("OfferTermCode", "")
            product.term_years[code] = years
            if unit == "Hrs":
                product.hourly[code] = product.hourly.get(code, 0.0) + (price or 0.0)
            elif unit == "Quantity":
                product.upfront[code] = product.upfront.get(code, 0.0) + (price or 0.0)
    report.rows_read = count
    for product in products.values():
        for code, years in product.term_years.items():
            upfront = product.upfront.get(code, 0.0)
            effective = product.hourly.get(code, 0.0) + upfront / (HOURS_PER_YEAR * years)
            product.reserved.setdefault(years, []).append(effective)
    return _rows(products.values(), report)


def _rows(products: Any, report: ImportReport) -> list[PriceRow]:
    rows: list[PriceRow] = []
    for product in products:
        attributes = product.attributes
        why = _wanted(attributes)
        if why:
            report.ignored[why] += 1
            continue
        instance = attributes.get("instanceType", "")
        known = aws_instance(instance)
        if known is None:
            report.ignored["no accelerator (not a GPU/accelerator instance)"] += 1
            continue
        region = attributes.get("regionCode") or LOCATIONS.get(attributes.get("location", ""), "")
        if not region:
            report.skip(product.ref, f"unknown location ('{attributes.get('location', '')}')")
            continue
        count = parse_count(attributes.get("gpu"))
        if not isinstance(count, int) or count == 0:
            count = known[1]
        reserved = {years: min(values) for years, values in product.reserved.items() if values}
        rows.append(PriceRow(
            product.ref, "aws", region, instance, known[0], count,
            on_demand=max(product.on_demand) if product.on_demand else None,
            reserved_1y=round(reserved[1], 6) if 1 in reserved else None,
            reserved_3y=round(reserved[3], 6) if 3 in reserved else None,
        ))
    return rows
