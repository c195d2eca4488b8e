"""An interrupted `plan solve -o FILE` leaves nothing behind: no output file, no temporary
file next to it, no scratch folder and no solver process; it exits 130 with one line
("interrupted") and no traceback. Tested in-process (KeyboardInterrupt raised during the solve
and during the write) and with a real SIGINT to a `plan solve` process in the middle of a
solve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

import planner.output
import planner.solve
from conftest import ROOT, generated_fleet, tiny_problem, write_problem
from planner.cli import main


def raise_interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


def assert_clean_interrupt(result: Result, folder: Path) -> None:
    assert result.exit_code == 130
    assert result.output.splitlines()[-1] == "interrupted"  # stderr, mixed in by old clicks
    assert "Traceback" not in result.output and "{" not in result.output
    assert sorted(p.name for p in folder.iterdir()) == ["problem.yaml"]


def test_interrupt_during_the_solve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_problem(tmp_path, tiny_problem())
    monkeypatch.setattr(planner.solve, "solve", raise_interrupt)
    result = CliRunner().invoke(main, ["solve", str(path), "-o", str(tmp_path / "out.json")])
    assert_clean_interrupt(result, tmp_path)


def test_interrupt_while_writing_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """The temporary file is written, then the rename is interrupted: it must go."""
    path = write_problem(tmp_path, tiny_problem())
    monkeypatch.setattr(planner.output.os, "replace", raise_interrupt)
    result = CliRunner().invoke(main, ["solve", str(path), "--format", "json",
                                       "-o", str(tmp_path / "out.json")])
    assert_clean_interrupt(result, tmp_path)


def _children(pid: int) -> set[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigint_to_a_running_solve_leaves_nothing_behind(tmp_path: Path) -> None:
    problem, _ = generated_fleet(30)  # HiGHS needs far longer than the test waits
    path = tmp_path / "problem.yaml"
    path.write_text(yaml.safe_dump(problem.model_dump(mode="json", exclude_defaults=True),
                                   sort_keys=False), encoding="utf-8")
    hang = _interrupt_a_solve(path, tmp_path)
    if hang is not None:
        pytest.fail(f"plan solve did not end after Ctrl-C; its stacks:\n{hang}")


def _interrupt_a_solve(path: Path, tmp_path: Path) -> str | None:
    """Ctrl-C to a running solve: None when it ended as it should (asserted), else the
    stacks of the hung command.

    The command gets SIGINT's default action whatever this process has: a test run started in
    the background by a non-interactive shell ignores SIGINT, the command inherits that, and
    Python then rightly never turns Ctrl-C into KeyboardInterrupt (that was the hang this test
    showed only in such runs)."""
    folder = tmp_path / "try"  # the output's folder: the only file in it is ours
    scratch = folder / "tmp"
    scratch.mkdir(parents=True)
    output = folder / "out.json"
    process = subprocess.Popen(
        [sys.executable, "-X", "faulthandler", "-m", "planner.cli", "solve", str(path),
         "--time-limit", "120", "-o", str(output)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, TMPDIR=str(scratch)), preexec_fn=_default_sigint)
    try:
        workers = _wait_for_worker(process.pid, scratch)
        process.send_signal(signal.SIGINT)
        try:
            stdout, stderr = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            ended = process.poll()
            process.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
            return f"exit status after 30 s: {ended}\n" + process.communicate(timeout=30)[1][-8000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130, stderr
    assert stderr.splitlines()[-1] == "interrupted", stderr
    assert "Traceback" not in stderr and stdout == ""
    assert sorted(p.name for p in folder.iterdir()) == ["tmp"]  # no output, no temp file
    assert list(scratch.iterdir()) == []
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(pid) for pid in workers)
    return None


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_worker(pid: int, scratch: Path) -> set[int]:
    """The solver worker's pid, once it is solving (its scratch folder exists)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _children(pid)
        if workers and any(scratch.iterdir()):
            time.sleep(0.5)  # well inside the solve
            return workers
        time.sleep(0.05)
    raise AssertionError("the solve did not start within 60 s")


# the solver worker ------------------------------------------------------------------------

ORPHANING = """
import os, signal, sys, threading, time
from planner.backends import SolveOptions, SolverResult, Status, isolation
from planner.linear import LinearModel

class Sleepy:
    name = "sleepy"
    def solve_here(self, model, options, progress):
        time.sleep(60)
        return SolverResult(Status.optimal, 0.0, 0.0, (), 0.0, self.name)

def die_mid_solve():
    while isolation._worker is None:
        time.sleep(0.01)
    print(isolation._worker.process.pid, flush=True)
    time.sleep(0.3)
    os.kill(os.getpid(), signal.SIGKILL)

threading.Thread(target=die_mid_solve, daemon=True).start()
isolation.solve_isolated(Sleepy(), LinearModel(), SolveOptions(time_limit_s=60))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_solving_worker_dies_with_its_parent_and_releases_its_output() -> None:
    """A command killed outright (SIGKILL: no cleanup) mid-solve: its worker must not go on
    solving with the command's stdout and stderr open, or a shell pipeline never ends."""
    process = subprocess.Popen([sys.executable, "-c", ORPHANING], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, _ = process.communicate(timeout=20)  # EOF on both pipes: the worker is gone
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    worker = int(stdout.split()[0])
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(worker)


def test_ctrl_c_while_a_worker_starts_comes_after_it_is_recorded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C right after the fork, before the worker is recorded, would leave a worker that
    nothing kills; it must be raised once the worker is recorded, and the worker then goes."""
    from planner.backends import isolation

    started = isolation._start_worker

    def interrupted_start(*args: object, **kwargs: object) -> isolation._Worker:
        worker = started(*args, **kwargs)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.1)  # the handler runs here, in the middle of the start
        return worker

    isolation._discard_worker()
    monkeypatch.setattr(isolation, "_start_worker", interrupted_start)
    # Python's own handler, even when this run inherited SIGINT ignored (see _interrupt_a_solve)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            isolation._current_worker()
        recorded = isolation._worker
        assert recorded is not None and recorded.process.is_alive()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        isolation._discard_worker()
        signal.signal(signal.SIGINT, previous)
    assert not recorded.process.is_alive()
