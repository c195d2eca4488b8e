"""Request logs and `plan profile`: timestamps, hourly profiles computed by hand, formats, bad rows."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
import yaml

from clirun import invoke
from conftest import ROOT
from planner import requestlog
from planner.errors import InputError
from planner.problem import load_problem
from planner.requestlog import LatencyLimits, Request, parse_timestamp, summarise_log

DATA = ROOT / "tests" / "data" / "audit"
MONDAY = dt.datetime(2024, 9, 2, tzinfo=dt.timezone.utc)  # 2024-09-02 was a Monday


def test_parse_timestamp_forms() -> None:
    epoch = MONDAY.timestamp()
    assert parse_timestamp("2024-09-02T00:00:00Z") == epoch
    assert parse_timestamp("2024-09-02 00:00:00") == epoch  # naive is UTC
    assert parse_timestamp("2024-09-02T02:00:00+02:00") == epoch
    assert parse_timestamp(str(int(epoch))) == epoch
    assert parse_timestamp(f"{epoch + 0.25}") == epoch + 0.25


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("yesterday", "not an ISO 8601"), ("1725235200000", "milliseconds"),
    ("-5", ">= 0"), ("nan", "finite"),
])
def test_parse_timestamp_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_timestamp(text)


def test_fixture_profile_by_hand() -> None:
    """chat: 12 requests an hour over 48 h, 54 in Monday 14:00; embed: 1 an hour."""
    summary = summarise_log(DATA / "requests.csv")
    chat, embed = summary.workloads["chat"], summary.workloads["embed"]
    assert summary.rows == 666 and chat.requests == 618 and embed.requests == 48
    assert chat.span_hours == 48 and chat.default_periods() == 24
    profile = chat.profile(24)
    assert profile[14] == pytest.approx((54 + 12) / (2 * 3600))
    assert all(value == pytest.approx(24 / 7200) for i, value in enumerate(profile) if i != 14)
    assert chat.busiest_hour_rps() == pytest.approx(54 / 3600)
    assert embed.profile(24) == pytest.approx((1 / 3600,) * 24)
    assert chat.mean_prompt_tokens() == 500 and chat.mean_output_tokens() == 100
    assert embed.mean_prompt_tokens() == 200 and embed.mean_output_tokens() == 1
    assert (chat.repeats, chat.hashed) == (123, 618)  # every 5th repeats the one before
    assert embed.hashed == 0 and embed.repeat_share() is None


def test_slo_violations_counted_against_limits() -> None:
    limits = {"chat": LatencyLimits(ttft_ms=500), "embed": LatencyLimits(ttft_ms=40)}
    summary = summarise_log(DATA / "requests.csv", limits)
    chat, embed = summary.workloads["chat"], summary.workloads["embed"]
    assert (chat.slo_violations, chat.latency_checked) == (61, 618)  # every 10th has TTFT 800
    assert (embed.slo_violations, embed.latency_checked) == (48, 48)  # TTFT 50 > 40


def test_tpot_and_e2e_limits() -> None:
    request = Request(1, 0.0, "w", output_tokens=11, latency_ms=1200, ttft_ms=200)
    assert LatencyLimits(tpot_ms=100).violated(request) is False  # (1200 - 200) / 10 = 100
    assert LatencyLimits(tpot_ms=99).violated(request) is True
    assert LatencyLimits(e2e_ms=1000).violated(request) is True
    assert LatencyLimits(ttft_ms=100).violated(Request(1, 0.0, "w")) is None  # nothing to check


def write_week_log(path: Path) -> None:
    """One request at half past every hour for 8 days from Monday 00:00, three more on
    Wednesday 10:00 and two more on the second Monday 05:00."""
    rows = ["timestamp,model"]
    for hour in range(8 * 24):
        rows.append(f"{(MONDAY + dt.timedelta(hours=hour, minutes=30)).isoformat()},llama")
    for extra, count in ((dt.timedelta(days=2, hours=10), 3), (dt.timedelta(days=7, hours=5), 2)):
        rows += [f"{(MONDAY + extra + dt.timedelta(minutes=i)).timestamp():.0f},llama"
                 for i in range(count)]
    path.write_text("\n".join(rows) + "\n")


def test_weekly_profile_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "week.csv"
    write_week_log(path)
    stats = summarise_log(path).workloads["llama"]  # the model column names the workload
    assert stats.span_hours == 192 and stats.default_periods() == 168
    profile = stats.profile(168)
    expected = [1 / 3600] * 168
    expected[2 * 24 + 10] = 4 / 3600  # Wednesday 10:00, seen once
    expected[5] = (1 + 1 + 2) / 7200  # Monday 05:00, seen twice
    assert profile == pytest.approx(expected)


def test_week_flag_on_a_short_log_fills_from_the_day() -> None:
    stats = summarise_log(DATA / "requests.csv").workloads["chat"]
    weekly = stats.profile(168)
    assert weekly[14] == pytest.approx(54 / 3600)  # Monday 14:00 as seen
    assert weekly[24 + 14] == pytest.approx(12 / 3600)  # Tuesday 14:00 as seen
    assert weekly[2 * 24 + 14] == pytest.approx(66 / 7200)  # Wednesday: the day's mean


def test_json_lines_and_gzip_read_like_csv(tmp_path: Path) -> None:
    lines = [json.dumps({"timestamp": (MONDAY + dt.timedelta(minutes=10 * i)).isoformat(),
                         "Workload": "chat", "prompt_tokens": 100, "completion_tokens": 7})
             for i in range(12)]
    plain = tmp_path / "log.jsonl"
    plain.write_text("\n".join(lines) + "\n")
    packed = tmp_path / "log.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    for path in (plain, packed):
        stats = summarise_log(path).workloads["chat"]
        assert stats.requests == 12 and stats.mean_output_tokens() == 7
        assert stats.profile(24)[0] == pytest.approx(6 / 3600)


def test_workload_filter_and_naming(tmp_path: Path) -> None:
    summary = summarise_log(DATA / "requests.csv", only="embed")
    assert list(summary.workloads) == ["embed"] and summary.rows == 666
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("timestamp\n2024-09-02T00:00:00Z\n2024-09-02T00:30:00Z\n")
    assert list(summarise_log(unnamed).workloads) == ["all"]
    assert list(summarise_log(unnamed, only="chat").workloads) == ["chat"]
    with pytest.raises(InputError, match="no requests of workload 'nope'"):
        summarise_log(DATA / "requests.csv", only="nope")


def test_bad_rows_are_all_listed_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("timestamp,workload,prompt_tokens,output_tokens\n"
                    "2024-09-02T00:00:00Z,chat,1,2\n"
                    "soon,chat,1,2\n"
                    "2024-09-02T00:00:00Z,chat,-4,2\n"
                    "2024-09-02T00:00:00Z,chat,1\n")
    with pytest.raises(InputError) as raised:
        summarise_log(path)
    text = str(raised.value)
    assert f"{path}:3:1: timestamp:" in text
    assert f"{path}:4:3: prompt_tokens: must be a finite number >= 0" in text
    assert f"{path}:5: 3 fields, the header has 4" in text


def test_profile_command_yaml_pastes_into_a_problem(tmp_path: Path) -> None:
    result = invoke(["profile", str(DATA / "requests.csv"), "--workload", "chat"])
    assert result.exit_code == 0, result.output
    entries = yaml.safe_load(result.stdout)
    assert [entry["name"] for entry in entries] == ["chat"]
    profile = entries[0]["profile_rps"]
    assert len(profile) == 24 and profile[14] == pytest.approx(66 / 7200, rel=1e-3)
    assert "busiest single hour 0.015 req/s" in result.stdout
    assert "mean tokens: prompt 500, output 100" in result.stdout
    problem_text = (DATA / "problem.yaml").read_text().replace("rate_rps: 0.01\n",
                                                               f"profile_rps: {profile}\n")
    problem_path = tmp_path / "problem.yaml"
    problem_path.write_text(problem_text.replace("catalogs: [catalog.yaml]",
                                                 f"catalogs: [{DATA / 'catalog.yaml'}]"))
    problem, _ = load_problem(problem_path)
    assert problem.online()[0].profile_rps == pytest.approx(profile)


def test_profile_command_week_output_and_file(tmp_path: Path) -> None:
    log = tmp_path / "week.csv"
    write_week_log(log)
    target = tmp_path / "profile.yaml"
    result = invoke(["profile", str(log), "-o", str(target)])
    assert result.exit_code == 0, result.output
    entries = yaml.safe_load(target.read_text())
    assert len(entries[0]["profile_rps"]) == 168
    assert entries[0]["profile_rps"][58] == pytest.approx(4 / 3600, rel=1e-3)
    assert "# Wed" in target.read_text()
    again = invoke(["profile", str(log), "-o", str(target)])
    assert again.exit_code == 1 and "--force" in again.stderr


def test_progress_reported_on_long_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requestlog, "PROGRESS_EVERY", 200)
    result = invoke(["profile", str(DATA / "requests.csv")])
    assert result.exit_code == 0
    assert "600 rows read" in result.stderr and "800 rows" not in result.stderr


BAD = {
    "requests_bad_timestamp.csv": ":3:1: timestamp: not an ISO 8601 time",
    "requests_bad_tokens.csv": ":2:3: prompt_tokens: must be a number (got 'abc')",
    "requests_no_timestamp.csv": ":1: timestamp: no timestamp column",
    "requests_empty.csv": ": the request log has no requests",
    "requests_bad_json.jsonl": ":2:51: not valid JSON",
    "requests_millis.jsonl": ":1:2: timestamp: epoch seconds expected",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_logs_exit_1_with_location(name: str) -> None:
    path = DATA / "bad" / name
    result = invoke(["profile", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path}{BAD[name]}")  # reported, not a traceback


def test_missing_log_is_an_input_error(tmp_path: Path) -> None:
    result = invoke(["profile", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1 and "request log not found" in result.stderr


def test_log_shorter_than_a_day_fills_with_its_mean(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("timestamp\n2024-09-02T10:05:00Z\n2024-09-02T10:15:00Z\n2024-09-02T11:20:00Z\n")
    profile = summarise_log(path).workloads["all"].profile(24)
    assert profile[10] == pytest.approx(2 / 3600) and profile[11] == pytest.approx(1 / 3600)
    assert profile[0] == pytest.approx(3 / 7200)  # 3 requests over the 2 hours the log spans
    result = invoke(["profile", str(path)])
    assert "shorter than a day" in result.stdout
