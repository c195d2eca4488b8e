"""Request logs: read CSV or JSON lines of served requests, streamed, into per-workload stats.

A log has one request per row (CSV with a header) or per line (JSON objects). Columns or keys:
`timestamp` (ISO 8601, naive times read as UTC, or epoch seconds), optional `workload` (or
`model`), `prompt_tokens`, `output_tokens`, `latency_ms` (end to end), `ttft_ms` and
`prompt_hash`. Rows are read one at a time, so a log of any length fits in memory: each
workload keeps only counts per clock hour, token sums, latency counters and, for repeated
prompts, the last time each hash was seen within the cache window.

Hours are UTC. The daily profile is the mean request rate in each hour of the day over the
log's span of whole hours; the weekly one (168 values, Monday 00:00 first, the problem file's
convention) the same per hour of the week.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from planner.errors import InputError, Issue

HOURS_PER_DAY = 24
HOURS_PER_WEEK = 168
SECONDS_PER_HOUR = 3600.0
EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""
MAX_LISTED_ISSUES = 20
PROGRESS_EVERY = 1_000_000
DEFAULT_WORKLOAD = "all"
"""The name of the one profile a log without a workload or model column gives."""
CACHE_WINDOW_S = 3600.0

COLUMNS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "time", "ts", "start_time", "created_at"),
    "workload": ("workload",),
    "model": ("model",),
    "prompt_tokens": ("prompt_tokens", "input_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens"),
    "latency_ms": ("latency_ms", "e2e_ms"),
    "ttft_ms": ("ttft_ms",),
    "prompt_hash": ("prompt_hash",),
}
"""Field -> the column names (case-insensitive) that carry it, first match wins."""


@dataclass(frozen=True)
class Request:
    line: int
    timestamp_s: float
    workload: str | None
    prompt_tokens: float | None = None
    output_tokens: float | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    prompt_hash: str | None = None


@dataclass(frozen=True)
class LatencyLimits:
    """A workload's SLO as the log can check it (each limit optional)."""

    ttft_ms: float | None = None
    tpot_ms: float | None = None
    e2e_ms: float | None = None

    def violated(self, request: Request) -> bool | None:
        """Whether the request missed a limit; None when the log has nothing to check."""
        checks: list[bool] = []
        if self.ttft_ms is not None and request.ttft_ms is not None:
            checks.append(request.ttft_ms > self.ttft_ms)
        if self.e2e_ms is not None and request.latency_ms is not None:
            checks.append(request.latency_ms > self.e2e_ms)
        tpot = _tpot_ms(request)
        if self.tpot_ms is not None and tpot is not None:
            checks.append(tpot > self.tpot_ms)
        return any(checks) if checks else None


def _tpot_ms(request: Request) -> float | None:
    """Time per output token after the first: (e2e - TTFT) / (output tokens - 1)."""
    if request.latency_ms is None or request.ttft_ms is None or request.output_tokens is None:
        return None
    if request.output_tokens < 2:
        return None
    return (request.latency_ms - request.ttft_ms) / (request.output_tokens - 1)


@dataclass
class WorkloadStats:
    """What one workload's requests add up to."""

    name: str
    requests: int = 0
    per_hour: dict[int, int] = field(default_factory=dict)
    """Requests per clock hour (hours since the epoch, UTC)."""
    first_s: float = math.inf
    last_s: float = -math.inf
    prompt_tokens_sum: float = 0.0
    prompt_tokens_rows: int = 0
    output_tokens_sum: float = 0.0
    output_tokens_rows: int = 0
    latency_checked: int = 0
    slo_violations: int = 0
    hashed: int = 0
    repeats: int = 0
    """Requests whose prompt hash was seen within the cache window before."""
    _seen: dict[str, float] = field(default_factory=dict, repr=False)

    def add(self, request: Request, limits: LatencyLimits | None, window_s: float) -> None:
        self.requests += 1
        hour = math.floor(request.timestamp_s / SECONDS_PER_HOUR)
        self.per_hour[hour] = self.per_hour.get(hour, 0) + 1
        self.first_s = min(self.first_s, request.timestamp_s)
        self.last_s = max(self.last_s, request.timestamp_s)
        if request.prompt_tokens is not None:
            self.prompt_tokens_sum += request.prompt_tokens
            self.prompt_tokens_rows += 1
        if request.output_tokens is not None:
            self.output_tokens_sum += request.output_tokens
            self.output_tokens_rows += 1
        if limits is not None:
            violated = limits.violated(request)
            if violated is not None:
                self.latency_checked += 1
                self.slo_violations += violated
        if request.prompt_hash:
            self._count_repeat(request.prompt_hash, request.timestamp_s, window_s)

    def _count_repeat(self, prompt_hash: str, timestamp_s: float, window_s: float) -> None:
        self.hashed += 1
        last = self._seen.get(prompt_hash)
        if last is not None and abs(timestamp_s - last) <= window_s:
            self.repeats += 1
        self._seen[prompt_hash] = timestamp_s if last is None else max(last, timestamp_s)
        if len(self._seen) > 2 * PROGRESS_EVERY:  # keep memory flat on long logs
            horizon = self.last_s - window_s
            self._seen = {h: t for h, t in self._seen.items() if t >= horizon}

    def merge(self, other: WorkloadStats) -> None:
        """Add another workload's requests (two log names for one problem workload)."""
        self.requests += other.requests
        for hour, count in other.per_hour.items():
            self.per_hour[hour] = self.per_hour.get(hour, 0) + count
        self.first_s = min(self.first_s, other.first_s)
        self.last_s = max(self.last_s, other.last_s)
        self.prompt_tokens_sum += other.prompt_tokens_sum
        self.prompt_tokens_rows += other.prompt_tokens_rows
        self.output_tokens_sum += other.output_tokens_sum
        self.output_tokens_rows += other.output_tokens_rows
        self.latency_checked += other.latency_checked
        self.slo_violations += other.slo_violations
        self.hashed += other.hashed
        self.repeats += other.repeats

    @property
    def first_hour(self) -> int:
        return math.floor(self.first_s / SECONDS_PER_HOUR)

    @property
    def last_hour(self) -> int:
        return math.floor(self.last_s / SECONDS_PER_HOUR)

    @property
    def span_hours(self) -> int:
        """Whole clock hours from the first request's hour to the last one's, inclusive."""
        return self.last_hour - self.first_hour + 1

    @property
    def span_days(self) -> float:
        return self.span_hours / HOURS_PER_DAY

    def mean_prompt_tokens(self) -> float | None:
        return self.prompt_tokens_sum / self.prompt_tokens_rows if self.prompt_tokens_rows else None

    def mean_output_tokens(self) -> float | None:
        return self.output_tokens_sum / self.output_tokens_rows if self.output_tokens_rows else None

    def busiest_hour_rps(self) -> float:
        return max(self.per_hour.values()) / SECONDS_PER_HOUR

    def repeat_share(self) -> float | None:
        return self.repeats / self.hashed if self.hashed else None

    def violation_share(self) -> float | None:
        return self.slo_violations / self.latency_checked if self.latency_checked else None

    def profile(self, periods: int) -> tuple[float, ...]:
        """Mean req/s per hour of the day (24) or of the week (168), UTC.

        Each slot's rate is its requests over the seconds the log spans in that slot (whole
        hours from the first request's hour to the last one's). Slots the log never reaches
        take, in a weekly profile, that hour of the day's mean and, in a daily one (a log
        shorter than a day), the log's mean rate."""
        slot = _day_slot if periods == HOURS_PER_DAY else _week_slot
        requests = [0] * periods
        hours = [0] * periods
        for hour in range(self.first_hour, self.last_hour + 1):
            hours[slot(hour)] += 1
        for hour, count in self.per_hour.items():
            requests[slot(hour)] += count
        fallback: tuple[float, ...] = ()
        if 0 in hours:
            fallback = (self.profile(HOURS_PER_DAY) if periods == HOURS_PER_WEEK else
                        (self.requests / (self.span_hours * SECONDS_PER_HOUR),) * HOURS_PER_DAY)
        return tuple(
            requests[i] / (hours[i] * SECONDS_PER_HOUR) if hours[i] else fallback[i % HOURS_PER_DAY]
            for i in range(periods))

    def default_periods(self) -> int:
        """168 when the log covers at least a week, else 24."""
        return HOURS_PER_WEEK if self.span_hours >= HOURS_PER_WEEK else HOURS_PER_DAY


def _day_slot(hour: int) -> int:
    return hour % HOURS_PER_DAY


def _week_slot(hour: int) -> int:
    weekday = (hour // HOURS_PER_DAY + EPOCH_WEEKDAY) % 7
    return weekday * HOURS_PER_DAY + hour % HOURS_PER_DAY


@dataclass
class LogSummary:
    """Per-workload statistics of a whole log."""

    file: str
    rows: int = 0
    workloads: dict[str, WorkloadStats] = field(default_factory=dict)
    has_workload_column: bool = False


def parse_timestamp(text: str) -> float:
    """Epoch seconds from ISO 8601 (naive = UTC; `Z` accepted) or a number of epoch seconds.

    Raises:
        ValueError: with what is wrong, for the caller to locate.
    """
    value = text.strip()
    if not value:
        raise ValueError("empty timestamp")
    try:
        seconds = float(value)
    except ValueError:
        seconds = None
    if seconds is not None:
        return _epoch_seconds(seconds)
    iso = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
    try:
        parsed = dt.datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time or epoch seconds (got {value!r})") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def _epoch_seconds(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"epoch seconds must be a finite number >= 0 (got {seconds:g})")
    if seconds >= 1e11:  # later than the year 5000: milliseconds or microseconds
        raise ValueError(f"epoch seconds expected; {seconds:.0f} looks like milliseconds "
                         f"(divide by 1000)")
    return seconds


class RowError(ValueError):
    """A bad value in one field of one row."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field_name = field_name


def _number(field_name: str, raw: Any) -> float | None:
    if raw is None or (isinstance(raw, str) and raw.strip() in ("", "null", "NULL")):
        return None
    if isinstance(raw, bool):
        raise RowError(field_name, f"must be a number (got {raw!r})")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise RowError(field_name, f"must be a number (got {raw!r})") from None
    if not math.isfinite(value) or value < 0:
        raise RowError(field_name, f"must be a finite number >= 0 (got {raw!r})")
    return value


def _text(raw: Any) -> str | None:
    if raw is None:
        return None
    text = str(raw).strip()
    return text or None


def build_request(line: int, values: dict[str, Any]) -> Request:
    """A request from one row's fields (keys of `COLUMNS`).

    Raises:
        RowError: naming the field that is missing or wrong.
    """
    raw_time = values.get("timestamp")
    if raw_time is None or (isinstance(raw_time, str) and not raw_time.strip()):
        raise RowError("timestamp", "missing timestamp")
    try:
        timestamp = (_epoch_seconds(float(raw_time)) if isinstance(raw_time, int | float)
                     and not isinstance(raw_time, bool) else parse_timestamp(str(raw_time)))
    except ValueError as exc:
        raise RowError("timestamp", str(exc)) from None
    return Request(
        line=line,
        timestamp_s=timestamp,
        workload=_text(values.get("workload")) or _text(values.get("model")),
        prompt_tokens=_number("prompt_tokens", values.get("prompt_tokens")),
        output_tokens=_number("output_tokens", values.get("output_tokens")),
        latency_ms=_number("latency_ms", values.get("latency_ms")),
        ttft_ms=_number("ttft_ms", values.get("ttft_ms")),
        prompt_hash=_text(values.get("prompt_hash")),
    )


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return path.open(encoding="utf-8-sig", newline="")


def _is_json_lines(path: Path) -> bool:
    name = path.name.removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return True
    if name.endswith((".csv", ".tsv")):
        return False
    with _open_text(path) as stream:
        for line in stream:
            if line.strip():
                return line.lstrip().startswith("{")
    return False


class _Issues:
    """Bad rows, the first few kept with their place, the rest counted."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.kept: list[Issue] = []
        self.more = 0

    def add(self, line: int, column: int | None, field_name: str, message: str) -> None:
        if len(self.kept) < MAX_LISTED_ISSUES:
            self.kept.append(Issue(self.file, line, column, field_name, message))
        else:
            self.more += 1

    def raise_if_any(self) -> None:
        if not self.kept:
            return
        issues = list(self.kept)
        if self.more:
            issues.append(Issue(self.file, None, None, "", f"... and {self.more} more bad rows"))
        raise InputError(issues)


def _csv_requests(path: Path, issues: _Issues) -> Iterator[Request]:
    with _open_text(path) as stream:
        reader = csv.reader(stream, delimiter="\t" if ".tsv" in path.suffixes else ",")
        try:
            header = next(reader)
        except StopIteration:
            return
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError([Issue(issues.file, 1, None, "", f"not a CSV file ({exc})")]) from None
        lowered = [name.strip().lower() for name in header]
        positions = {key: next((lowered.index(n) for n in names if n in lowered), None)
                     for key, names in COLUMNS.items()}
        if positions["timestamp"] is None:
            raise InputError([Issue(issues.file, 1, None, "timestamp",
                                    f"no timestamp column (columns: {', '.join(header) or 'none'})")])
        try:
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    issues.add(line, None, "", f"{len(row)} fields, the header has {len(header)}")
                    continue
                values = {key: row[i] for key, i in positions.items() if i is not None}
                try:
                    yield build_request(line, values)
                except RowError as exc:
                    column = positions.get(exc.field_name)
                    issues.add(line, None if column is None else column + 1, exc.field_name, str(exc))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError([Issue(issues.file, reader.line_num, None, "",
                                    f"cannot read the CSV ({exc})")]) from None


def _json_requests(path: Path, issues: _Issues) -> Iterator[Request]:
    with _open_text(path) as stream:
        try:
            for line_number, line in enumerate(stream, start=1):
                if not line.strip():
                    continue
                try:
                    document = json.loads(line.rstrip("\r\n"))
                except json.JSONDecodeError as exc:
                    issues.add(line_number, exc.colno, "", f"not valid JSON ({exc.msg})")
                    continue
                if not isinstance(document, dict):
                    issues.add(line_number, 1, "", "each line must be a JSON object")
                    continue
                keys = {key.lower(): key for key in document if isinstance(key, str)}
                values = {field_name: document[keys[name]] for field_name, names in COLUMNS.items()
                          for name in reversed(names) if name in keys}
                try:
                    yield build_request(line_number, values)
                except RowError as exc:
                    key = next((keys[n] for n in COLUMNS[exc.field_name] if n in keys), exc.field_name)
                    where = line.find(f'"{key}"')
                    issues.add(line_number, where + 1 if where >= 0 else None, exc.field_name, str(exc))
        except UnicodeDecodeError as exc:
            raise InputError([Issue(issues.file, None, None, "", f"not UTF-8 text ({exc})")]) from None


def read_requests(path: Path) -> Iterator[Request]:
    """Every request of a log, in file order.

    Raises:
        InputError: when the file is missing or unreadable, or (after the whole file has been
            read) listing its bad rows, each with line, column and field.
    """
    if path.is_dir():
        raise InputError([Issue(str(path), None, None, "", "request log is a directory")])
    if not path.is_file():
        raise InputError([Issue(str(path), None, None, "", "request log not found")])
    issues = _Issues(str(path))
    try:
        reader = _json_requests if _is_json_lines(path) else _csv_requests
        yield from reader(path, issues)
    except (OSError, EOFError) as exc:  # gzip errors are OSErrors
        raise InputError([Issue(str(path), None, None, "", f"cannot read ({exc})")]) from None
    issues.raise_if_any()


def summarise_log(path: Path, limits: dict[str, LatencyLimits] | None = None,
                  window_s: float = CACHE_WINDOW_S, only: str | None = None,
                  progress: Callable[[int], None] | None = None) -> LogSummary:
    """Read a whole log into per-workload statistics.

    `limits` are SLOs per workload name to count violations against; `only` keeps one
    workload (by its workload or model column); `progress` is called every million rows.

    Raises:
        InputError: bad rows (see `read_requests`), an empty log, or `only` not in the log.
    """
    summary = LogSummary(str(path))
    seen_names: set[str] = set()
    for request in read_requests(path):
        summary.rows += 1
        if progress is not None and summary.rows % PROGRESS_EVERY == 0:
            progress(summary.rows)
        name = request.workload or DEFAULT_WORKLOAD
        seen_names.add(name)
        if request.workload is not None:
            summary.has_workload_column = True
        if only is not None and request.workload is not None and request.workload != only:
            continue
        if only is not None and request.workload is None:
            name = only
        stats = summary.workloads.get(name)
        if stats is None:
            stats = summary.workloads[name] = WorkloadStats(name)
        stats.add(request, (limits or {}).get(name), window_s)
    if summary.rows == 0:
        raise InputError([Issue(str(path), None, None, "", "the request log has no requests")])
    if not summary.workloads:
        raise InputError([Issue(str(path), None, None, "workload",
                                f"no requests of workload '{only}' (the log has "
                                f"{', '.join(sorted(seen_names))})")])
    return summary
