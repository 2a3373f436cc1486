"""The experiment store: one SQLite file holds any number of named experiments.

Contract:
- Each trial row is written when the trial starts (status ``running``) and completed when it
  finishes; both writes are committed before the runner goes on, so a finished trial is durable
  before its strategy hears of it.
- The database runs in WAL mode with ``synchronous=NORMAL``: a committed trial survives a killed
  process (SIGKILL, OOM); only an operating-system crash or power cut can lose the last commits.
  ``durability="full"`` makes every commit fsync as well.
- Several processes may write to one file at once (each write is one short transaction and
  waits up to ``timeout`` seconds for the lock). A ``Store`` object is for one thread.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasforge.errors import ExperimentNotFoundError, InvalidConfigError, StorageError
from nasforge.evaluators.base import Result, Status

__all__ = ["ExperimentRecord", "Store", "TrialRecord"]

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trials (
    id INTEGER PRIMARY KEY,
    experiment_id INTEGER NOT NULL REFERENCES experiments(id),
    number INTEGER NOT NULL,
    arch TEXT NOT NULL,
    arch_key TEXT NOT NULL,
    fidelity REAL,
    status TEXT NOT NULL,
    metrics TEXT,
    hidden TEXT,
    cost REAL,
    params INTEGER,
    error TEXT,
    info TEXT,
    started REAL NOT NULL,
    finished REAL,
    tell_order INTEGER,
    UNIQUE (experiment_id, number)
);
CREATE INDEX IF NOT EXISTS trials_by_experiment ON trials (experiment_id, tell_order);
"""


@dataclass(frozen=True)
class ExperimentRecord:
    """A stored experiment: its id, name, spec (how to rebuild it) and status."""

    id: int
    name: str
    spec: dict[str, Any]
    status: str
    created: float
    updated: float
    owner: str | None = None
    heartbeat: float | None = None


@dataclass(frozen=True)
class TrialRecord:
    """A stored trial. ``hidden`` holds test/report metrics: never hand it to a strategy."""

    number: int
    arch: str
    arch_key: str
    fidelity: float | None
    status: str
    metrics: dict[str, float]
    hidden: dict[str, float]
    cost: float
    params: int | None
    error: str | None
    started: float
    finished: float | None
    tell_order: int | None
    info: dict[str, Any]

    def result(self) -> Result:
        """The trial's :class:`Result` as the evaluator returned it."""
        if self.status == Status.OK:
            return Result(Status.OK, self.metrics, self.hidden, self.cost, self.params, None, self.fidelity, self.info)
        return Result.failed(self.error or self.status, cost=self.cost, fidelity=self.fidelity, status=self.status)


def _json(m: Mapping[str, Any] | None) -> str:
    return json.dumps({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in (m or {}).items()})


class Store:
    """SQLite experiment store (see the module docstring for the durability contract).

    Args:
        path: database file; ``":memory:"`` keeps everything in memory (used by ``compare``).
        read_only: open an existing store without creating or changing anything (a ``mode=ro``
            URI); raises :class:`StorageError` when the file is missing or not a nasforge store.
        durability: ``"normal"`` (default) or ``"full"`` (fsync every commit).
        timeout: seconds to wait for another writer's lock.

    Example:
        >>> store = Store(":memory:")
        >>> exp = store.create_experiment("demo", {"space": {"name": "nb201"}})
        >>> store.get_experiment("demo").id == exp.id
        True
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False, durability: str = "normal",
                 timeout: float = 60.0) -> None:
        if durability not in ("normal", "full"):
            raise InvalidConfigError(f"durability must be 'normal' or 'full', but got {durability!r}")
        self.path = str(path)
        self.read_only = read_only
        if read_only:
            self._open_read_only(timeout)
            return
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = %d" % int(timeout * 1000))
            if self.path != ":memory:":
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {durability.upper()}")
            with self._tx():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open store {self.path}: {exc}") from exc

    def _open_read_only(self, timeout: float) -> None:
        if not Path(self.path).is_file():
            raise StorageError(f"store {self.path} does not exist")
        try:
            self._db = sqlite3.connect(Path(self.path).resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout,
                                       isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = %d" % int(timeout * 1000))
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.Error as exc:
            raise StorageError(f"{self.path} is not a nasforge store: {exc}") from exc
        if not {"meta", "experiments", "trials"} <= tables:
            self._db.close()
            raise StorageError(f"{self.path} is not a nasforge store (no experiments/trials tables)")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"store {self.path}: {exc}") from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ experiments
    def create_experiment(self, name: str, spec: Mapping[str, Any]) -> ExperimentRecord:
        """Add a new experiment; the name must be unused in this store."""
        now = time.time()
        try:
            with self._tx() as db:
                db.execute("INSERT INTO experiments (name, spec, status, created, updated) VALUES (?, ?, 'running', ?, ?)",
                           (name, json.dumps(spec), now, now))
        except StorageError as exc:
            if "UNIQUE" in str(exc):
                raise InvalidConfigError(
                    f"an experiment named '{name}' already exists in {self.path}; "
                    f"use `nasforge resume {name}` or choose another --name"
                ) from None
            raise
        return self.get_experiment(name)

    def get_experiment(self, name: str) -> ExperimentRecord:
        row = self._db.execute("SELECT id, name, spec, status, created, updated FROM experiments WHERE name = ?",
                               (name,)).fetchone()
        if row is None:
            names = self.experiment_names()
            from nasforge.registry import unknown_name_message

            raise ExperimentNotFoundError(unknown_name_message(f"experiment in {self.path}", name, names)
                                          if names else f"no experiment '{name}' in {self.path} (the store is empty)")
        return ExperimentRecord(row[0], row[1], json.loads(row[2]), row[3], row[4], row[5])

    def list_experiments(self) -> list[ExperimentRecord]:
        """Every experiment, oldest first, with its truthful status: a stored ``running`` whose owner's
        heartbeat is missing or older than 60 s is reported as ``interrupted``."""
        cols = {r[1] for r in self._db.execute("PRAGMA table_info(experiments)")}
        lease = ", owner, heartbeat" if {"owner", "heartbeat"} <= cols else ", NULL, NULL"
        rows = self._db.execute(f"SELECT id, name, spec, status, created, updated{lease} FROM experiments ORDER BY id")
        now = time.time()
        out = []
        for r in rows.fetchall():
            status = r[3]
            if status == "running" and (r[7] is None or now - r[7] >= 60.0):
                status = "interrupted"
            out.append(ExperimentRecord(r[0], r[1], json.loads(r[2]), status, r[4], r[5], r[6], r[7]))
        return out

    def experiment_names(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT name FROM experiments ORDER BY id")]

    def set_status(self, experiment_id: int, status: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE experiments SET status = ?, updated = ? WHERE id = ?", (status, time.time(), experiment_id))

    # ------------------------------------------------------------------ trials
    def start_trial(self, experiment_id: int, number: int, arch: str, arch_key: str, fidelity: float | None) -> int:
        """Record a trial as running (committed); returns its row id."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO trials (experiment_id, number, arch, arch_key, fidelity, status, started) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (experiment_id, number, arch, arch_key, fidelity, time.time()),
            )
            return int(cur.lastrowid)  # type: ignore[arg-type]

    def restart_trial(self, trial_id: int) -> None:
        """Mark an interrupted (still running) trial as started again."""
        with self._tx() as db:
            db.execute("UPDATE trials SET started = ?, status = 'running' WHERE id = ?", (time.time(), trial_id))

    def finish_trial(self, trial_id: int, result: Result, *, counted: bool = True) -> None:
        """Store a finished trial's result (committed). ``counted=False`` stores it as over budget."""
        status = result.status if counted else Status.OVER_BUDGET
        with self._tx() as db:
            order = None
            if counted:
                order = db.execute(
                    "SELECT COALESCE(MAX(tell_order), -1) + 1 FROM trials WHERE experiment_id = "
                    "(SELECT experiment_id FROM trials WHERE id = ?)", (trial_id,)).fetchone()[0]
            db.execute(
                "UPDATE trials SET status = ?, metrics = ?, hidden = ?, cost = ?, params = ?, error = ?, info = ?, "
                "finished = ?, fidelity = COALESCE(?, fidelity), tell_order = ? WHERE id = ?",
                (status, _json(result.metrics), _json(result.hidden), result.cost, result.params, result.error,
                 json.dumps(dict(result.info), default=str), time.time(), result.fidelity, order, trial_id),
            )

    def trials(self, experiment_id: int) -> list[TrialRecord]:
        """All trials of an experiment, by number."""
        rows = self._db.execute(
            "SELECT number, arch, arch_key, fidelity, status, metrics, hidden, cost, params, error, started, "
            "finished, tell_order, info, id FROM trials WHERE experiment_id = ? ORDER BY number", (experiment_id,)
        ).fetchall()
        return [self._trial(r) for r in rows]

    def trials_after(self, experiment_id: int, tell_order: int = -1) -> list[TrialRecord]:
        """The counted trials whose ``tell_order`` is above ``tell_order``, in tell order: lets a reader
        follow a running search by fetching only what is new."""
        rows = self._db.execute(
            "SELECT number, arch, arch_key, fidelity, status, metrics, hidden, cost, params, error, started, "
            "finished, tell_order, info, id FROM trials WHERE experiment_id = ? AND tell_order > ? "
            "ORDER BY tell_order", (experiment_id, tell_order)
        ).fetchall()
        return [self._trial(r) for r in rows]

    def trial_ids(self, experiment_id: int) -> dict[int, int]:
        """number -> row id."""
        return dict(self._db.execute("SELECT number, id FROM trials WHERE experiment_id = ?", (experiment_id,)))

    @staticmethod
    def _trial(r: tuple[Any, ...]) -> TrialRecord:
        def load(text: str | None) -> dict[str, Any]:
            return {k: (math.nan if v is None else v) for k, v in json.loads(text).items()} if text else {}

        return TrialRecord(r[0], r[1], r[2], r[3], r[4], load(r[5]), load(r[6]), r[7] or 0.0, r[8], r[9], r[10],
                           r[11], r[12], json.loads(r[13]) if r[13] else {})

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check``: ``"ok"`` when the file is sound."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])
