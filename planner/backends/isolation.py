"""Solve in a worker process that is killed at the deadline, so a solve always returns.

A solver's own time limit is not a guarantee. HiGHS 1.16 checks it nowhere in the clique
cover its probing and enumeration presolve end with (`finaliseProbing` ->
`aggregateVarBounds`: 200 s past a 5 s limit on the unpruned 10-workload fleet; see
`highs.LARGE_MODEL_COLUMNS`), and any solver may hang or crash in native code, where Python
cannot interrupt it. So every solve runs in a worker process:

* The worker gets as its time limit whatever is left of `time_limit_s` (model translation
  counts) and streams each improving plan and the proven bound to the parent (`Progress`).
* The parent waits until `time_limit_s + GRACE_S` after the call began. If the worker has not
  answered by then, its whole process group is killed (CBC runs as a grandchild) and the best
  streamed plan is returned as `feasible` with the last bound, or `no_solution` without one.
* The solve's scratch folder (CBC's model and solution files) is removed either way, and an
  exception in the parent (Ctrl-C: `KeyboardInterrupt`) kills the worker before it propagates.
* An orphaned worker (parent killed with SIGKILL) ends itself: on Linux the kernel kills it
  when its parent ends (`PR_SET_PDEATHSIG`), so it never holds the parent's stdout and stderr
  open after the parent is gone; elsewhere, between solves it sees the pipe close and during a
  solve SIGALRM (default action, so it works inside native code) ends it a little after the
  parent's deadline.
* Ctrl-C while a worker is being started is raised once it is recorded, so the worker is
  killed with the rest (`_interrupts_deferred`).

One worker is kept for the next solve (forking one costs ~20 ms, too much for the thousands of
tiny solves in the tests); it is replaced after a kill, after a crash, in a forked copy of the
parent, and for a large model, which a fresh fork inherits instead of receiving it pickled.
`prestart` starts it early, importing the solver's library (highspy: 20-60 ms) while the
caller is still building the model: a command's first solve does not wait for either.
Workers are started with "fork" where available (nothing is re-imported) and "spawn"
elsewhere. Warnings the backend issues in the worker are re-issued in the parent; an exception
there is re-raised here.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import math
import multiprocessing
import os
import pickle
import shutil
import signal
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from planner import progress
from planner.backends.base import Backend, SolveOptions, SolverResult, SolverWarning, Status
from planner.linear import LinearModel

GRACE_S = 1.0
"""How long after the time limit the parent waits before killing the worker."""
ORPHAN_GRACE_S = 5.0
"""A worker whose parent is gone ends itself this long after the parent's deadline."""
BOUND_INTERVAL_S = 0.25
"""Streamed bound updates are sent at most this often."""
MIN_SOLVER_LIMIT_S = 0.05
TELL_EVERY_S = 1.0
"""While the worker solves, the parent tells the best plan and bound so far this often."""
PR_SET_PDEATHSIG = 1
"""Linux prctl option: the signal a process gets when the thread that started it ends."""
FORK_MODEL_COLUMNS = 5_000
"""From this many columns on (with "fork"), a fresh worker is forked with the model instead of
pickling it to the running one: 62,000 rows pickle and unpickle in 1.5 s, a fork takes 20 ms."""


class Progress:
    """What a backend tells the parent while it solves; this base class is silent (in-process
    use, e.g. tests of a backend's translation)."""

    def __init__(self, deadline: float, scratch: str | None = None) -> None:
        self.deadline = deadline
        """`time.monotonic()` by which the solver must have stopped by itself."""
        self.scratch = scratch
        """A folder for solver files that the parent removes after the solve."""

    def remaining_s(self) -> float:
        """Seconds left for the solver's own time limit (never below `MIN_SOLVER_LIMIT_S`)."""
        return max(MIN_SOLVER_LIMIT_S, self.deadline - time.monotonic())

    def incumbent(self, values: Sequence[float], objective: float, bound: float | None) -> None:
        """A new best plan: values in column order, objective including the model's offset."""

    def bound(self, bound: float) -> None:
        """A new proven lower bound (including the offset)."""


class _Reporter(Progress):
    """Progress sent over the pipe to the parent."""

    def __init__(self, deadline: float, scratch: str | None, connection: Connection) -> None:
        super().__init__(deadline, scratch)
        self.connection = connection
        self.last_bound_sent = -math.inf

    def incumbent(self, values: Sequence[float], objective: float, bound: float | None) -> None:
        self.connection.send(("incumbent", [float(v) for v in values], float(objective),
                              None if bound is None else float(bound)))

    def bound(self, bound: float) -> None:
        now = time.monotonic()
        if math.isfinite(bound) and now - self.last_bound_sent >= BOUND_INTERVAL_S:
            self.last_bound_sent = now
            self.connection.send(("bound", float(bound)))


class InProcessBackend(Protocol):
    name: str

    def solve_here(self, model: LinearModel, options: SolveOptions, progress: Progress
                   ) -> SolverResult: ...


@dataclass
class _Heard:
    """What the parent has heard from the worker during one solve."""

    values: tuple[float, ...] = ()
    objective: float | None = None
    bound: float | None = None
    result: SolverResult | None = None
    error: BaseException | None = None
    warnings: list[tuple[type[Warning], str]] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        return self.result is not None or self.error is not None

    def hear(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        if kind == "incumbent":
            _, values, objective, bound = message
            if self.objective is None or objective < self.objective:
                self.values, self.objective = tuple(values), objective
            if bound is not None:
                self._raise_bound(bound)
        elif kind == "bound":
            self._raise_bound(message[1])
        elif kind == "result":
            self.result, self.warnings = message[1], message[2]
        elif kind == "raised":
            self.error, self.warnings = message[1], message[2]

    def _raise_bound(self, bound: float) -> None:
        self.bound = bound if self.bound is None else max(self.bound, bound)

    def stopped(self, solver: str, seconds: float) -> SolverResult:
        """The result when the worker had to be killed at the deadline."""
        if self.objective is None:
            return SolverResult(Status.no_solution, None, None, (), seconds, solver)
        bound = None if self.bound is None else min(self.bound, self.objective)
        return SolverResult(Status.feasible, self.objective, bound, self.values, seconds, solver)


# the worker ------------------------------------------------------------------------------


def _serve(connection: Connection, first: tuple[Any, ...] | None = None,
           prepare: Backend | None = None, parent: int | None = None) -> None:
    """The worker's loop: one solve request in (`first`, then from the pipe), progress and one
    answer out, until EOF. `prepare`: a backend whose solver to import while waiting for the
    first request. `parent`: the pid to die with (see `_die_with`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "setsid"):
        os.setsid()  # its own process group: killed whole; Ctrl-C reaches only the parent
    if parent is not None:
        _die_with(parent)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
    early = _import_solver(prepare) if prepare is not None else []
    while True:
        if first is not None:
            request, first = first, None
        else:
            try:
                request = connection.recv()
            except (EOFError, OSError):
                return  # the parent has gone
        backend, model, options, deadline, orphan_deadline, scratch = request
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, max(0.1, orphan_deadline - time.monotonic()))
        reporter = _Reporter(deadline, scratch, connection)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            caught += early  # the import's warnings go with the first answer, as without it
            early = []
            try:
                result = backend.solve_here(model, options, reporter)
            except Exception as exc:
                answer: tuple[Any, ...] = ("raised", _picklable(exc), _warnings(caught))
            else:
                answer = ("result", result, _warnings(caught))
        if hasattr(signal, "setitimer"):
            signal.setitimer(signal.ITIMER_REAL, 0)
        connection.send(answer)


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when `parent` (the thread that started it) ends, so it
    never outlives the command holding its output pipes (Linux; a no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before the request took effect
        os._exit(0)


def _import_solver(backend: Backend) -> list[warnings.WarningMessage]:
    """Import `backend`'s solver library; returns the warnings that issued, for the first
    answer to carry as it would have had the solve imported it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with contextlib.suppress(Exception):  # the solve fails the same way, and says so
            backend.import_solver()
    return caught


def _warnings(caught: list[warnings.WarningMessage]) -> list[tuple[type[Warning], str]]:
    return [(w.category, str(w.message)) for w in caught]


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.dumps(exc)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


# the parent ------------------------------------------------------------------------------


@dataclass
class _Worker:
    process: Any
    connection: Connection
    owner: int
    """pid of the process that started it (a forked copy of the parent starts its own)."""

    @property
    def usable(self) -> bool:
        return self.owner == os.getpid() and self.process.is_alive()

    def kill(self) -> None:
        """Kill the worker and everything it started (CBC), then reap it."""
        if self.owner != os.getpid():
            return
        pid = self.process.pid
        if pid is not None and hasattr(os, "killpg"):
            # not yet its own group, or gone: then the process itself is killed below
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.connection.close()


_worker: _Worker | None = None
_one_at_a_time = threading.Lock()


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _start_worker(first: tuple[Any, ...] | None = None, prepare: Backend | None = None
                  ) -> _Worker:
    context = _context()
    parent_end, worker_end = context.Pipe(duplex=True)
    # from another thread, dying with the starting thread would kill a worker still in use
    parent = os.getpid() if threading.current_thread() is threading.main_thread() else None
    process = context.Process(target=_serve, args=(worker_end, first, prepare, parent),
                              daemon=True, name="plan-solver")
    sys.stdout.flush()  # a forked worker must not write our buffered output a second time
    sys.stderr.flush()
    process.start()
    worker_end.close()
    return _Worker(process, parent_end, os.getpid())


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold back Ctrl-C (SIGINT) until the block ends: a worker forked and not yet recorded in
    `_worker` would escape `_discard_worker`. Only the main thread handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda number, frame: caught.append((number, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and callable(previous):
        previous(*caught[0])
    elif caught and previous == signal.SIG_DFL:
        os.kill(os.getpid(), signal.SIGINT)


def _current_worker(prepare: Backend | None = None) -> _Worker:
    if _worker is None or not _worker.usable:
        return _replace_worker(prepare=prepare)
    return _worker


def prestart(backend: Backend) -> None:
    """Start the worker now (unless one is running) and have it import `backend`'s solver,
    so that the next solve does not wait for either."""
    with _one_at_a_time:
        _current_worker(backend)


def _fresh_worker(request: tuple[Any, ...] | None) -> _Worker:
    """A new worker (replacing the current one), started on `request` (not pickled) if any."""
    return _replace_worker(request)


def _replace_worker(first: tuple[Any, ...] | None = None, prepare: Backend | None = None
                    ) -> _Worker:
    """Kill the current worker (if any) and record a new one before Ctrl-C can strike."""
    global _worker
    with _interrupts_deferred():
        _discard_worker()
        _worker = _start_worker(first, prepare)
    return _worker


def _discard_worker() -> None:
    global _worker
    if _worker is not None:
        _worker.kill()
        _worker = None


atexit.register(_discard_worker)


def solve_isolated(backend: InProcessBackend, model: LinearModel, options: SolveOptions
                   ) -> SolverResult:
    """`backend.solve_here(model, options)` in the worker; returns within
    `time_limit_s + GRACE_S` (plus the few milliseconds a kill takes). Solves from several
    threads take turns (the time waiting counts against each one's limit)."""
    started = time.monotonic()
    with _one_at_a_time:
        return _solve(backend, model, options, started)


def _solve(backend: InProcessBackend, model: LinearModel, options: SolveOptions, started: float
           ) -> SolverResult:
    deadline = started + options.time_limit_s
    hard_deadline = deadline + GRACE_S
    scratch = tempfile.mkdtemp(prefix="plan-solve-")
    heard = _Heard()
    finished = False
    try:
        request = (backend, model, options, deadline, hard_deadline + ORPHAN_GRACE_S, scratch)
        if model.variable_count >= FORK_MODEL_COLUMNS and _context().get_start_method() == "fork":
            worker = _fresh_worker(request)
        else:
            worker = _current_worker()
            try:
                worker.connection.send(request)
            except OSError:  # it died since it was last used: once more with a new one
                worker = _fresh_worker(None)
                worker.connection.send(request)
        finished = _listen(worker, heard, hard_deadline)
    finally:
        if not finished:  # deadline, crash or an exception here (Ctrl-C): the worker goes
            _discard_worker()
        shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.monotonic() - started
    for category, message in heard.warnings:
        warnings.warn(message, category, stacklevel=4)
    if heard.error is not None:
        raise heard.error
    if heard.result is not None:
        return _with_seconds(heard.result, seconds)
    if time.monotonic() >= hard_deadline:
        return heard.stopped(backend.name, seconds)
    message = f"the {backend.name} solver process ended unexpectedly"
    warnings.warn(message, SolverWarning, stacklevel=4)
    return SolverResult(Status.error, None, None, (), seconds, backend.name, message)


def _listen(worker: _Worker, heard: _Heard, hard_deadline: float) -> bool:
    """Collect messages until the worker answers (True), or dies or the deadline passes;
    each second after the first, tell what is known so far (`planner.progress`: a quick solve
    inside a longer piece of work, such as the decomposition's, tells nothing)."""
    connection = worker.connection
    told = time.monotonic()
    while not heard.answered:
        remaining = hard_deadline - time.monotonic()
        if remaining <= 0:
            return False
        listening = progress.listening()
        if listening and time.monotonic() - told >= TELL_EVERY_S:
            told = time.monotonic()
            progress.tell(progress.plan_and_bound(heard.objective, heard.bound))
        ready = wait([connection, worker.process.sentinel],
                     timeout=min(remaining, TELL_EVERY_S) if listening else remaining)
        if connection in ready:
            try:
                heard.hear(connection.recv())
            except (EOFError, OSError):
                return False  # the worker died mid-solve
        elif ready:  # the worker died; what it sent before has been read
            return False
    return True


def _with_seconds(result: SolverResult, seconds: float) -> SolverResult:
    return SolverResult(result.status, result.objective, result.bound, result.values, seconds,
                        result.solver, result.message)
