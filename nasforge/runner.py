"""The runner: ask -> evaluate -> persist -> tell, under a budget.

The runner owns the loop, the budget, failures and persistence (DESIGN.md). A trial that raises
or returns NaN is recorded as failed with its error, and the search goes on. Each finished trial
is committed to the store before the strategy is told. ``resume`` replays the stored tells into a
fresh strategy (see :meth:`nasforge.strategies.Strategy.restore`), reruns the trials that were in
flight when the process died, and continues.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

from nasforge.arch import Architecture
from nasforge.errors import ExperimentNotFoundError, InvalidConfigError, SearchInterrupted, StorageError
from nasforge.evaluators.base import Evaluator, Objective, Observation, Result, Status
from nasforge.spaces.base import SearchSpace
from nasforge.storage import Store, TrialRecord, new_owner, stale_seconds
from nasforge.strategies.base import Strategy, Suggestion, as_suggestion

__all__ = [
    "Budget",
    "Constraint",
    "Experiment",
    "InlineExecutor",
    "Lease",
    "Runner",
    "SearchSummary",
    "best_trial",
    "evaluate_safely",
    "pareto_front",
]

log = logging.getLogger("nasforge.runner")


@dataclass(frozen=True)
class Budget:
    """When to stop: any limit that is set and reached ends the search.

    Args:
        trials: number of evaluations (failed ones count).
        seconds: evaluator-charged seconds (simulated for tabular benchmarks, measured for
            real training). With simulated cost, a trial that would overrun is discarded, as in
            the NB201 paper's protocol.
        wall_seconds: real elapsed time of this process' search loop.
    """

    trials: int | None = None
    seconds: float | None = None
    wall_seconds: float | None = None

    def __post_init__(self) -> None:
        for name in ("trials", "seconds", "wall_seconds"):
            v = getattr(self, name)
            if v is not None and not (v > 0 and math.isfinite(v)):  # nan or inf would never end a search
                raise InvalidConfigError(f"budget {name} must be a finite number > 0, but got {v}")
        if self.trials is None and self.seconds is None and self.wall_seconds is None:
            raise InvalidConfigError("a budget needs at least one of trials, seconds or wall_seconds")

    def to_dict(self) -> dict[str, Any]:
        return {"trials": self.trials, "seconds": self.seconds, "wall_seconds": self.wall_seconds}


@dataclass(frozen=True)
class Constraint:
    """An upper bound on a visible metric (``params_M <= 1.0``, ``pixel3 <= 10``)."""

    metric: str
    upper: float

    def satisfied(self, metrics: Any) -> bool:
        v = metrics.get(self.metric)
        return v is not None and not math.isnan(v) and v <= self.upper


@dataclass
class Experiment:
    """The assembled parts of one search, plus the JSON spec that rebuilds them on resume."""

    name: str
    space: SearchSpace
    strategy: Strategy
    evaluator: Evaluator
    objectives: tuple[Objective, ...]
    budget: Budget
    spec: dict[str, Any] = field(default_factory=dict)
    constraints: tuple[Constraint, ...] = ()


@dataclass
class SearchSummary:
    """What a finished (or stopped) search found. ``to_json`` is the CLI's ``--json`` output."""

    experiment: str
    trials: int
    failed: int
    cost_seconds: float
    wall_seconds: float
    best: TrialRecord | None
    objectives: tuple[Objective, ...]
    report_metric: str | None
    pareto: list[TrialRecord] = field(default_factory=list)
    status: str = "finished"
    storage: str | None = None

    def to_json(self) -> dict[str, Any]:
        def trial(t: TrialRecord) -> dict[str, Any]:
            metrics = {**t.metrics, **t.hidden}
            out: dict[str, Any] = {"arch": t.arch, "number": t.number, "metrics": metrics}
            if self.report_metric and self.report_metric in t.hidden:
                out["report"] = t.hidden[self.report_metric]
            if t.params is not None:
                out["params"] = t.params
            return out

        data: dict[str, Any] = {
            "experiment": self.experiment, "status": self.status, "trials": self.trials, "failed": self.failed,
            "cost_seconds": round(self.cost_seconds, 3), "wall_seconds": round(self.wall_seconds, 3),
            "objectives": [str(o) for o in self.objectives], "report_metric": self.report_metric,
            "best": trial(self.best) if self.best else None,
        }
        if len(self.objectives) > 1:
            data["pareto"] = [trial(t) for t in self.pareto]
        if self.storage:
            data["storage"] = self.storage
        return data


class Progress(Protocol):
    def start(self, total: float | None, unit: str) -> None: ...

    def advance(self, done: float, best: float | None, text: str) -> None: ...

    def stop(self) -> None: ...


def evaluate_safely(evaluator: Evaluator, arch: Architecture, fidelity: float | None) -> Result:
    """Call ``evaluator.evaluate`` and turn any exception into a failed :class:`Result`."""
    t0 = time.perf_counter()
    try:
        result = evaluator.evaluate(arch, fidelity)
        if not isinstance(result, Result):
            return Result.failed(f"evaluator returned {type(result).__name__}, not Result",
                                 cost=time.perf_counter() - t0)
        return result
    except Exception as exc:  # noqa: BLE001 - a failing trial must not end the search
        log.warning("trial failed: %s: %s", type(exc).__name__, exc)
        tb = traceback.format_exc(limit=8)
        return Result(Status.FAILED, {}, {}, 0.0 if evaluator.simulated_cost else time.perf_counter() - t0, None,
                      f"{type(exc).__name__}: {exc}", fidelity, {"traceback": tb})


class InlineExecutor:
    """Runs each evaluation in the calling thread when it is submitted."""

    workers = 1

    def submit(self, fn: Callable[..., Result], *args: Any) -> Future[Result]:
        fut: Future[Result] = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the runner through the future
            fut.set_exception(exc)
        return fut

    def shutdown(self) -> None:
        return None


def _dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    return all(x >= y for x, y in zip(a, b)) and any(x > y for x, y in zip(a, b))


def pareto_front(points: Sequence[Sequence[float]]) -> list[int]:
    """Indices of the non-dominated points (every coordinate: larger is better)."""
    front = []
    for i, p in enumerate(points):
        if not any(_dominates(q, p) for j, q in enumerate(points) if j != i):
            front.append(i)
    return front


def best_trial(records: Sequence[TrialRecord], objective: Objective,
               feasible: Callable[[TrialRecord], bool] | None = None) -> TrialRecord | None:
    """The best ok (and feasible) trial by ``objective`` among those at the highest fidelity."""
    ok = [t for t in records if t.status == Status.OK and objective.metric in t.metrics
          and (feasible is None or feasible(t))]
    if not ok:
        return None
    top = max((t.fidelity or 0.0) for t in ok)
    best, best_score = None, -math.inf
    for t in ok:
        if (t.fidelity or 0.0) == top:
            s = objective.score(t.metrics[objective.metric])
            if s > best_score:
                best, best_score = t, s
    return best


class Lease:
    """This runner's lease on its experiment, kept alive by a heartbeat thread.

    Like Optuna's heartbeat: a daemon thread with its own SQLite connection refreshes
    ``experiments.heartbeat`` every ``interval`` seconds (default: 10, or a quarter of the stale
    threshold when that is shorter). If another process took the lease over (after this one
    stalled past the threshold), :attr:`lost` becomes True and the runner stops.
    """

    def __init__(self, store: Store, experiment_id: int, owner: str, interval: float | None = None) -> None:
        self.store = store
        self.experiment_id = experiment_id
        self.owner = owner
        self.interval = interval if interval is not None else min(10.0, stale_seconds() / 4)
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last = time.time()

    def start(self) -> None:
        if self.store.path == ":memory:":
            return  # one connection only: refreshed from the loop (beat_if_due)
        self._thread = threading.Thread(target=self._beat_loop, name="nasforge-heartbeat", daemon=True)
        self._thread.start()

    def _beat_loop(self) -> None:
        try:
            db = sqlite3.connect(self.store.path, timeout=30.0, isolation_level=None)
        except sqlite3.Error as exc:  # pragma: no cover - the store was just opened
            log.warning("heartbeat: cannot open %s: %s", self.store.path, exc)
            return
        try:
            while not self._stop.wait(self.interval):
                try:
                    n = db.execute("UPDATE experiments SET heartbeat = ? WHERE id = ? AND owner = ?",
                                   (time.time(), self.experiment_id, self.owner)).rowcount
                except sqlite3.Error as exc:  # a busy or flaky disk: try again next beat
                    log.warning("heartbeat of %s failed: %s", self.store.path, exc)
                    continue
                if n == 0:
                    self.lost = True
                    log.error("lost the lease on experiment %d in %s", self.experiment_id, self.store.path)
                    return
        finally:
            db.close()

    def beat_if_due(self) -> None:
        """Refresh the heartbeat from the calling thread (in-memory stores have no thread)."""
        if self._thread is None and time.time() - self._last >= self.interval:
            self._last = time.time()
            with self.store._tx() as db:
                db.execute("UPDATE experiments SET heartbeat = ? WHERE id = ? AND owner = ?",
                           (self._last, self.experiment_id, self.owner))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)


class Runner:
    """Run one experiment to its budget, persisting every trial.

    Args:
        experiment: the assembled experiment.
        store: where trials go; None keeps them in memory only (``compare`` uses that).
        executor: where evaluations run (default: in this thread).
        progress: optional progress display.

    Example:
        >>> from nasforge.api import build_experiment  # doctest: +SKIP
        >>> Runner(build_experiment({...}), Store("runs.db")).run().best.arch  # doctest: +SKIP
    """

    def __init__(self, experiment: Experiment, store: Store | None = None, *, executor: Any = None,
                 progress: Progress | None = None) -> None:
        self.exp = experiment
        self.store = store
        self.executor = executor or InlineExecutor()
        self.progress = progress
        self.records: list[TrialRecord] = []  # finished, counted trials in tell order
        self._experiment_id: int | None = None
        self._number = 0
        self._cost = 0.0
        self._stop_reason: str | None = None
        self.owner = new_owner()
        self._lease: Lease | None = None
        # the incumbent, kept up to date per finished trial (O(1)); see best()
        self._best: TrialRecord | None = None
        self._best_top = -math.inf
        self._best_score = -math.inf
        self._best_seen = 0
        self._best_list: list[TrialRecord] | None = None

    # ------------------------------------------------------------------ bookkeeping
    def _observe(self, result: Result) -> Observation:
        obs = result.observe(self.exp.objectives)
        if obs.ok and self.exp.constraints and not all(c.satisfied(result.metrics) for c in self.exp.constraints):
            # infeasible: the strategy learns it as a failure, so nothing infeasible is bred or returned
            return Observation((), obs.metrics, obs.cost, obs.fidelity, False)
        return obs

    def _record(self, number: int, sug: Suggestion, result: Result, started: float) -> TrialRecord:
        return TrialRecord(number, self.exp.space.to_string(sug.arch), sug.arch.key, result.fidelity or sug.fidelity,
                           result.status, dict(result.metrics), dict(result.hidden), result.cost, result.params,
                           result.error, started, time.time(), len(self.records), dict(result.info))

    def _restore(self) -> list[tuple[int, int, Suggestion]]:
        """Load stored trials into the strategy; returns (number, row id, suggestion) to rerun."""
        if self.store is None:
            self._experiment_id = None
            return []
        try:
            rec = self.store.acquire_lease(self.exp.name, self.owner)
        except ExperimentNotFoundError:
            rec = self.store.create_experiment(self.exp.name, self.exp.spec, owner=self.owner)
        self._experiment_id = rec.id
        self._lease = Lease(self.store, rec.id, self.owner)
        trials = self.store.trials(rec.id)
        ids = self.store.trial_ids(rec.id)
        told = sorted((t for t in trials if t.tell_order is not None), key=lambda t: t.tell_order or 0)
        history = []
        for t in told:
            arch = Architecture.from_key(t.arch_key)
            history.append((arch, self._observe(t.result())))
            self.records.append(t)
            self._cost += t.cost
        self._number = max((t.number for t in trials), default=-1) + 1
        self.exp.strategy.restore(history, n_asked=self._number)
        if any(t.status == Status.OVER_BUDGET for t in trials):
            self._stop_reason = "budget"
        # 'running' rows were in flight when a runner died; 'interrupted' ones when it was stopped
        return [(t.number, ids[t.number], Suggestion(Architecture.from_key(t.arch_key), t.fidelity))
                for t in trials if t.status in (Status.RUNNING, "interrupted")]

    def _budget_left(self, in_flight: int, t0: float) -> bool:
        b = self.exp.budget
        if self._stop_reason:
            return False
        if b.trials is not None and len(self.records) + in_flight >= b.trials:
            return False
        if b.seconds is not None and self._cost >= b.seconds:
            return False
        if b.wall_seconds is not None and time.perf_counter() - t0 >= b.wall_seconds:
            return False
        return True

    # ------------------------------------------------------------------ the loop
    def run(self) -> SearchSummary:
        """Run until the budget is spent; returns the summary."""
        t0 = time.perf_counter()
        b = self.exp.budget
        in_flight: dict[Future[Result], tuple[int, int | None, Suggestion, float]] = {}
        workers = max(1, int(getattr(self.executor, "workers", 1)))
        final_status = "interrupted"
        looping = False  # trials can be in flight only once the loop has started
        try:
            reruns = self._restore()  # takes the lease (refused while another live runner holds it)
            if self._lease is not None:
                self._lease.start()
            if reruns:
                log.info("resuming %s: rerunning %d interrupted trial(s)", self.exp.name, len(reruns))
            if self.progress:
                self.progress.start(b.trials if b.trials else b.seconds, "trials" if b.trials else "s")
            looping = True
            self._loop(reruns, in_flight, workers, t0)
            final_status = "finished"
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM turned into an interrupt by the CLI
            if looping:
                self._interrupt()
            raise SearchInterrupted(self.exp.name, self.store.path if self.store is not None else None,
                                    getattr(exc, "signal_name", "SIGINT")) from None
        except BaseException:
            if looping:
                self._interrupt()
            raise
        finally:
            if self.progress:
                self.progress.stop()
            self._release(final_status)
        return self.summary(time.perf_counter() - t0)

    def _interrupt(self) -> None:
        """Record the trials in flight as interrupted (they are rerun on resume).

        This runner holds the lease, so every unfinished trial of the experiment is its own,
        including one whose start was committed just before the interrupt reached ``in_flight``.
        """
        if self.store is None or self._experiment_id is None:
            return
        try:
            self.store.interrupt_trials(self._experiment_id, owner=self.owner)
        except StorageError as exc:  # the stop goes on; such trials stay 'running' and are rerun all the same
            log.warning("could not mark the trials in flight interrupted: %s", exc)

    def _release(self, status: str) -> None:
        if self._lease is None or self.store is None or self._experiment_id is None:
            return
        self._lease.stop()
        try:
            self.store.release_lease(self._experiment_id, self.owner, status)
        except StorageError as exc:  # the heartbeat stops: status turns 'interrupted' when the lease goes stale
            log.warning("could not release the lease of %s: %s", self.exp.name, exc)
        self._lease = None

    def _loop(self, reruns: list[tuple[int, int, Suggestion]],
              in_flight: dict[Future[Result], tuple[int, int | None, Suggestion, float]], workers: int,
              t0: float) -> None:
        while True:
            if self._lease is not None:
                if self._lease.lost:
                    raise StorageError(f"another process took over experiment '{self.exp.name}' in "
                                       f"{self.store.path if self.store else ''} (this runner stalled past the "
                                       "lease's stale threshold); stopping")
                self._lease.beat_if_due()
            while len(in_flight) < workers and (reruns or self._budget_left(len(in_flight), t0)):
                if reruns:
                    number, tid, sug = reruns.pop(0)
                    if self.store is not None and tid is not None:
                        self.store.restart_trial(tid)
                else:
                    sug = as_suggestion(self.exp.strategy.ask(1)[0])
                    number, self._number = self._number, self._number + 1
                    tid = None
                    if self.store is not None and self._experiment_id is not None:
                        tid = self.store.start_trial(self._experiment_id, number, self.exp.space.to_string(sug.arch),
                                                     sug.arch.key, sug.fidelity, owner=self.owner)
                fut = self.executor.submit(evaluate_safely, self.exp.evaluator, sug.arch, sug.fidelity)
                in_flight[fut] = (number, tid, sug, time.time())
            if not in_flight:
                break
            done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
            for fut in sorted(done, key=lambda f: in_flight[f][0]):
                number, tid, sug, started = in_flight[fut]
                try:
                    result = fut.result()  # an interrupt raised here leaves the trial in in_flight
                except Exception as exc:  # noqa: BLE001 - a worker died: the trial failed
                    # a TimeoutError (the executor's per-trial timeout) makes a 'timeout' trial
                    spent = 0.0 if self.exp.evaluator.simulated_cost else time.time() - started
                    result = Result.failed(f"{type(exc).__name__}: {exc}", fidelity=sug.fidelity, cost=spent,
                                           status=Status.TIMEOUT if isinstance(exc, TimeoutError)
                                           else Status.FAILED)
                del in_flight[fut]
                self._finish(number, tid, sug, result, started)

    def _finish(self, number: int, tid: int | None, sug: Suggestion, result: Result, started: float) -> None:
        b = self.exp.budget
        over = (self.exp.evaluator.simulated_cost and b.seconds is not None and self._cost + result.cost > b.seconds)
        if over:
            # The paper's protocol: a query that would end after the budget never happened.
            self._stop_reason = "budget"
            if self.store is not None and tid is not None:
                self.store.finish_trial(tid, result, counted=False, owner=self.owner)
            return
        if self.store is not None and tid is not None:
            self.store.finish_trial(tid, result, owner=self.owner)  # durable before the strategy hears of it
        record = self._record(number, sug, result, started)
        self.records.append(record)
        self._cost += result.cost
        self.exp.strategy.tell(sug.arch, self._observe(result))
        if self.progress:
            best = self.best()  # O(1): the incumbent is updated incrementally
            done = len(self.records) if b.trials else self._cost
            self.progress.advance(done, best.metrics.get(self.exp.objectives[0].metric) if best else None,
                                  f"{record.status} {record.arch[:60]}")

    # ------------------------------------------------------------------ results
    def _feasible(self, t: TrialRecord) -> bool:
        return t.status == Status.OK and all(c.satisfied(t.metrics) for c in self.exp.constraints)

    def best(self) -> TrialRecord | None:
        """The best feasible trial by the first objective (a visible metric, never a test one).

        With several fidelities, only trials at the highest fidelity reached are compared: a
        12-epoch and a 200-epoch accuracy are not on one scale.
        """
        if self.records is not self._best_list or self._best_seen > len(self.records):  # replaced: start again
            self._best, self._best_top, self._best_score, self._best_seen = None, -math.inf, -math.inf, 0
            self._best_list = self.records
        for t in self.records[self._best_seen:]:
            self._consider(t)
        self._best_seen = len(self.records)
        return self._best

    def _consider(self, t: TrialRecord) -> None:
        """Update the incumbent with one more trial, exactly as :func:`best_trial` would pick."""
        objective = self.exp.objectives[0]
        if t.status != Status.OK or objective.metric not in t.metrics or not self._feasible(t):
            return
        fidelity = t.fidelity or 0.0
        if fidelity > self._best_top:
            self._best, self._best_top, self._best_score = None, fidelity, -math.inf
        if fidelity == self._best_top:
            s = objective.score(t.metrics[objective.metric])
            if s > self._best_score:
                self._best, self._best_score = t, s

    def pareto(self) -> list[TrialRecord]:
        """Non-dominated feasible trials over all objectives (unique architectures)."""
        cands: dict[str, TrialRecord] = {}
        for t in self.records:
            if self._feasible(t) and all(o.metric in t.metrics for o in self.exp.objectives):
                cands.setdefault(t.arch_key, t)
        items = list(cands.values())
        pts = [[o.score(t.metrics[o.metric]) for o in self.exp.objectives] for t in items]
        return [items[i] for i in pareto_front(pts)]

    def summary(self, wall: float = 0.0) -> SearchSummary:
        failed = sum(1 for t in self.records if t.status != Status.OK)
        return SearchSummary(
            self.exp.name, len(self.records), failed, self._cost, wall, self.best(), self.exp.objectives,
            self.exp.evaluator.report_metric, self.pareto() if len(self.exp.objectives) > 1 else [],
            "finished", self.store.path if self.store is not None else None,
        )
