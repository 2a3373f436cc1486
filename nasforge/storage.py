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
- One runner per experiment: a runner takes the experiment's lease (``owner``, ``heartbeat``
  columns) in one transaction and refreshes the heartbeat from a thread with its own connection
  (:class:`nasforge.runner.Lease`). A lease whose heartbeat is older than :func:`stale_seconds`,
  or whose process on this host is gone, is stale and may be taken over. The reported status is
  ``running`` only under a live lease, else ``interrupted`` or ``finished``.
- ``Store(path, read_only=True)`` never creates or changes a file; a file that is not a nasforge
  store, or that SQLite cannot read, raises :class:`StorageError` naming it.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasforge.errors import ExperimentLockedError, ExperimentNotFoundError, InvalidConfigError, StorageError
from nasforge.evaluators.base import Result, Status

__all__ = ["ExperimentRecord", "Store", "TrialRecord", "lease_alive", "lease_status", "new_owner", "stale_seconds"]

DEFAULT_STALE_S = 60.0
SCHEMA_VERSION = 2  # 2 added experiments.owner/heartbeat (the lease); version-1 files migrate on open
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    owner TEXT,
    heartbeat REAL
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
    """A stored experiment: its id, name, spec (how to rebuild it), status and lease.

    ``status`` is ``"running"`` only while a live owner holds the lease, else ``"interrupted"``
    or ``"finished"``; ``owner`` (``host:pid:token``) and ``heartbeat`` (epoch seconds) are the
    lease, both None when no runner holds it.
    """

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


def _wal_without_log(path: str) -> bool:
    """True for a WAL-mode SQLite file with no ``-wal`` file beside it (bytes 18-19 of the header are 2)."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except OSError:
        return False
    return len(header) == 20 and header[18:20] == b"\x02\x02" and not Path(path + "-wal").exists()


def stale_seconds() -> float:
    """Seconds without a heartbeat after which a lease is stale (env ``NASFORGE_LEASE_STALE_S``, default 60)."""
    raw = os.environ.get("NASFORGE_LEASE_STALE_S")
    if raw is None:
        return DEFAULT_STALE_S
    try:
        value = float(raw)
    except ValueError:
        raise InvalidConfigError(f"NASFORGE_LEASE_STALE_S must be a number of seconds, but got {raw!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise InvalidConfigError(f"NASFORGE_LEASE_STALE_S must be > 0, but got {raw!r}")
    return value


def new_owner() -> str:
    """A lease owner id for this process: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _pid_dead(owner: str) -> bool:
    """True when ``owner`` names a process on this host that no longer exists."""
    parts = owner.split(":")
    if len(parts) < 3:
        return False
    host, pid_text = ":".join(parts[:-2]), parts[-2]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it exists under another user
        return False
    return False


def lease_alive(owner: str | None, heartbeat: float | None, now: float | None = None) -> bool:
    """Whether a lease is held by a live runner: a recent heartbeat and, on this host, a live pid."""
    if not owner or heartbeat is None:
        return False
    if (now if now is not None else time.time()) - heartbeat > stale_seconds():
        return False
    return not _pid_dead(owner)


def lease_status(stored: str, owner: str | None, heartbeat: float | None) -> str:
    """The status to report: a stored ``running`` without a live owner is ``interrupted``."""
    if stored == "running" and not lease_alive(owner, heartbeat):
        return "interrupted"
    return stored


def _locked_message(name: str, owner: str | None, path: str) -> str:
    return (f"experiment '{name}' in {path} is being run by another process ({owner}); "
            f"wait for it to finish or stop it first (a crashed runner's lease expires {stale_seconds():g} s "
            "after its last heartbeat)")


class Store:
    """SQLite experiment store (see the module docstring for the durability contract).

    Args:
        path: database file; ``":memory:"`` keeps everything in memory (used by ``compare``).
        read_only: open an existing store without creating or changing anything (``status``,
            ``best``, ``trials``); raises :class:`StorageError` when the file is missing or is
            not a nasforge store.
        follow: with ``read_only``, a long-lived reader that must see what writers add later (the
            dashboard). Without it, a store no writer has open is read as an immutable snapshot, which
            leaves no ``-wal``/``-shm`` files next to it.
        durability: ``"normal"`` (default) or ``"full"`` (fsync every commit).
        timeout: seconds to wait for another writer's lock.

    A file that holds tables but no nasforge ``meta`` row is refused and left untouched; a file
    SQLite cannot read (corrupted pages, not a database) gives a :class:`StorageError` naming it.

    Example:
        >>> store = Store(":memory:")
        >>> exp = store.create_experiment("demo", {"space": {"name": "nb201"}})
        >>> store.get_experiment("demo").id == exp.id
        True
    """

    def __init__(self, path: str | Path = ":memory:", *, read_only: bool = False, follow: bool = False,
                 durability: str = "normal", timeout: float = 60.0) -> None:
        if durability not in ("normal", "full"):
            raise InvalidConfigError(f"durability must be 'normal' or 'full', but got {durability!r}")
        self.path = str(path)
        self.read_only = read_only
        self._db: sqlite3.Connection | None = None
        memory = self.path == ":memory:"
        if read_only and (memory or not Path(self.path).is_file()):
            raise StorageError(f"store {self.path} does not exist")
        try:
            if read_only:
                uri = Path(self.path).resolve().as_uri() + "?mode=ro"
                if not follow and _wal_without_log(self.path):
                    # No writer has it open and all is checkpointed: reading it as immutable keeps
                    # SQLite from creating -wal/-shm files next to it.
                    uri += "&immutable=1"
                self._db = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
            else:
                if not memory:
                    Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = %d" % int(timeout * 1000))
            tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if tables or read_only:
                self._check_nasforge(tables)
            if read_only:
                self._columns = {r[1] for r in self._db.execute("PRAGMA table_info(experiments)")}
                return
            if not memory:
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute(f"PRAGMA synchronous = {durability.upper()}")
            with self._tx():
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        self._db.execute(stmt)
                columns = {r[1] for r in self._db.execute("PRAGMA table_info(experiments)")}
                for col, kind in (("owner", "TEXT"), ("heartbeat", "REAL")):
                    if col not in columns:  # a schema-version-1 store: migrate in place
                        self._db.execute(f"ALTER TABLE experiments ADD COLUMN {col} {kind}")
                self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self._columns = {"owner", "heartbeat"}
        except sqlite3.Error as exc:
            self.close()
            raise StorageError(f"cannot open store {self.path}: {exc} (is it a nasforge store, and intact?)"
                               ) from exc
        except StorageError:
            self.close()
            raise

    def _check_nasforge(self, tables: set[str]) -> None:
        row = None
        if "meta" in tables:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or not {"experiments", "trials"} <= tables:
            raise StorageError(f"{self.path} is not a nasforge store (no nasforge schema in it); it was not modified")
        try:
            version = int(row[0])
        except ValueError:
            version = -1
        if not 1 <= version <= SCHEMA_VERSION:
            raise StorageError(f"store {self.path} has schema version {row[0]!r}; this nasforge reads versions "
                               f"1 to {SCHEMA_VERSION}")

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StorageError(f"store {self.path} is closed")
        return self._db

    def _rows(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query; SQLite errors (a corrupted page, ...) become one clear StorageError."""
        try:
            return self.db.execute(sql, tuple(args)).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot read store {self.path}: {exc} (the file may be corrupted)") from exc

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StorageError(f"store {self.path} was opened read-only")
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"store {self.path}: {exc}") from exc

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ experiments
    def create_experiment(self, name: str, spec: Mapping[str, Any], *, owner: str | None = None) -> ExperimentRecord:
        """Add a new experiment; the name must be unused in this store.

        With ``owner`` the caller holds its lease from the start (one transaction).
        """
        now = time.time()
        try:
            with self._tx() as db:
                db.execute("INSERT INTO experiments (name, spec, status, created, updated, owner, heartbeat) "
                           "VALUES (?, ?, 'running', ?, ?, ?, ?)",
                           (name, json.dumps(spec), now, now, owner, now if owner else None))
        except StorageError as exc:
            if "UNIQUE" in str(exc):
                row = self._rows("SELECT owner, heartbeat FROM experiments WHERE name = ?", (name,))
                if row and lease_alive(row[0][0], row[0][1]):
                    raise ExperimentLockedError(_locked_message(name, row[0][0], self.path)) from None
                raise InvalidConfigError(
                    f"an experiment named '{name}' already exists in {self.path}; "
                    f"use `nasforge resume {name}` or choose another --name"
                ) from None
            raise
        return self.get_experiment(name)

    def _select_experiments(self, where: str = "", args: Sequence[Any] = ()) -> list[ExperimentRecord]:
        extra = ", ".join(c if c in self._columns else "NULL" for c in ("owner", "heartbeat"))
        rows = self._rows(f"SELECT id, name, spec, status, created, updated, {extra} FROM experiments {where} "
                          "ORDER BY id", args)
        out = []
        for r in rows:
            try:
                spec = json.loads(r[2])
            except json.JSONDecodeError as exc:
                raise StorageError(f"store {self.path}: experiment '{r[1]}' has an unreadable spec: {exc}") from exc
            status = lease_status(r[3], r[6], r[7])
            out.append(ExperimentRecord(r[0], r[1], spec, status, r[4], r[5], r[6], r[7]))
        return out

    def get_experiment(self, name: str) -> ExperimentRecord:
        """The experiment called ``name``; its status is truthful (see :func:`lease_status`)."""
        found = self._select_experiments("WHERE name = ?", (name,))
        if not found:
            names = self.experiment_names()
            from nasforge.registry import unknown_name_message

            raise ExperimentNotFoundError(unknown_name_message(f"experiment in {self.path}", name, names)
                                          if names else f"no experiment '{name}' in {self.path} (the store is empty)")
        return found[0]

    def list_experiments(self) -> list[ExperimentRecord]:
        """Every experiment, oldest first, with truthful statuses."""
        return self._select_experiments()

    def experiment_names(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT name FROM experiments ORDER BY id")]

    def delete_experiment(self, name: str, *, force: bool = False) -> int:
        """Remove an experiment and its trials; returns how many trials went with it.

        Raises:
            ExperimentLockedError: a live runner holds its lease (unless ``force``).
        """
        rec = self.get_experiment(name)
        with self._tx() as db:
            row = db.execute("SELECT owner, heartbeat FROM experiments WHERE id = ?", (rec.id,)).fetchone()
            if row is not None and not force and lease_alive(row[0], row[1]):
                raise ExperimentLockedError(_locked_message(name, row[0], self.path))
            n = db.execute("DELETE FROM trials WHERE experiment_id = ?", (rec.id,)).rowcount
            db.execute("DELETE FROM experiments WHERE id = ?", (rec.id,))
        return int(n)

    def set_status(self, experiment_id: int, status: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE experiments SET status = ?, updated = ? WHERE id = ?", (status, time.time(), experiment_id))

    # ------------------------------------------------------------------ leases
    def acquire_lease(self, name: str, owner: str) -> ExperimentRecord:
        """Make ``owner`` the one runner of experiment ``name`` (atomic: one transaction).

        A lease held by a live owner is refused; a stale one (heartbeat older than
        :func:`stale_seconds`, or a dead process on this host) is taken over.

        Raises:
            ExperimentLockedError: another live runner holds the lease.
        """
        rec = self.get_experiment(name)
        with self._tx() as db:
            row = db.execute("SELECT owner, heartbeat FROM experiments WHERE id = ?", (rec.id,)).fetchone()
            if row is None:
                raise ExperimentNotFoundError(f"experiment '{name}' was deleted from {self.path}")
            if row[0] != owner and lease_alive(row[0], row[1]):
                raise ExperimentLockedError(_locked_message(name, row[0], self.path))
            now = time.time()
            db.execute("UPDATE experiments SET owner = ?, heartbeat = ?, status = 'running', updated = ? WHERE id = ?",
                       (owner, now, now, rec.id))
        return self.get_experiment(name)

    def release_lease(self, experiment_id: int, owner: str, status: str) -> None:
        """Give the lease up and record ``status`` ('interrupted' or 'finished'), if ``owner`` still holds it."""
        with self._tx() as db:
            db.execute("UPDATE experiments SET owner = NULL, heartbeat = NULL, status = ?, updated = ? "
                       "WHERE id = ? AND owner = ?", (status, time.time(), experiment_id, owner))

    # ------------------------------------------------------------------ trials
    def _check_owner(self, db: sqlite3.Connection, experiment_id: int, owner: str | None) -> None:
        if owner is None:
            return
        row = db.execute("SELECT owner, name FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
        if row is None or row[0] != owner:
            raise ExperimentLockedError(
                f"experiment '{row[1] if row else experiment_id}' in {self.path} was taken over by another process "
                f"({row[0] if row else 'deleted'}) after this one stalled; this runner stops")

    def start_trial(self, experiment_id: int, number: int, arch: str, arch_key: str, fidelity: float | None,
                    *, owner: str | None = None) -> int:
        """Record a trial as running (committed); returns its row id.

        With ``owner``, the write happens only while that owner holds the experiment's lease.
        """
        with self._tx() as db:
            self._check_owner(db, experiment_id, owner)
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

    def finish_trial(self, trial_id: int, result: Result, *, counted: bool = True, owner: str | None = None) -> None:
        """Store a finished trial's result (committed). ``counted=False`` stores it as over budget.

        With ``owner``, the write happens only while that owner holds the experiment's lease.
        """
        status = result.status if counted else Status.OVER_BUDGET
        with self._tx() as db:
            if owner is not None:
                exp_id = db.execute("SELECT experiment_id FROM trials WHERE id = ?", (trial_id,)).fetchone()
                self._check_owner(db, exp_id[0] if exp_id else -1, owner)
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
        rows = self._rows(
            "SELECT number, arch, arch_key, fidelity, status, metrics, hidden, cost, params, error, started, "
            "finished, tell_order, info, id FROM trials WHERE experiment_id = ? ORDER BY number", (experiment_id,))
        try:
            return [self._trial(r) for r in rows]
        except (ValueError, TypeError) as exc:
            raise StorageError(f"store {self.path}: unreadable trial data ({exc})") from exc

    def trials_after(self, experiment_id: int, tell_order: int = -1) -> list[TrialRecord]:
        """The counted trials whose ``tell_order`` is above ``tell_order``, in tell order: lets a reader
        follow a running search by fetching only what is new."""
        rows = self._rows(
            "SELECT number, arch, arch_key, fidelity, status, metrics, hidden, cost, params, error, started, "
            "finished, tell_order, info, id FROM trials WHERE experiment_id = ? AND tell_order > ? "
            "ORDER BY tell_order", (experiment_id, tell_order))
        try:
            return [self._trial(r) for r in rows]
        except (ValueError, TypeError) as exc:
            raise StorageError(f"store {self.path}: unreadable trial data ({exc})") from exc

    def trial_ids(self, experiment_id: int) -> dict[int, int]:
        """number -> row id."""
        return dict(self._rows("SELECT number, id FROM trials WHERE experiment_id = ?", (experiment_id,)))

    def interrupt_trials(self, experiment_id: int, *, owner: str | None = None) -> int:
        """Mark the experiment's unfinished trials ``interrupted`` (rerun on resume); returns how many.

        With ``owner``, nothing changes unless that owner still holds the experiment's lease.
        """
        with self._tx() as db:
            if owner is not None:
                row = db.execute("SELECT owner FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
                if row is None or row[0] != owner:
                    return 0
            return int(db.execute("UPDATE trials SET status = 'interrupted' WHERE experiment_id = ? AND "
                                  "status = 'running' AND finished IS NULL", (experiment_id,)).rowcount)

    @staticmethod
    def _trial(r: tuple[Any, ...]) -> TrialRecord:
        def load(text: str | None) -> dict[str, Any]:
            return {k: (math.nan if v is None else v) for k, v in json.loads(text).items()} if text else {}

        return TrialRecord(r[0], r[1], r[2], r[3], r[4], load(r[5]), load(r[6]), r[7] or 0.0, r[8], r[9], r[10],
                           r[11], r[12], json.loads(r[13]) if r[13] else {})

    def integrity_check(self) -> str:
        """SQLite's own ``PRAGMA integrity_check``: ``"ok"`` when the file is sound."""
        return str(self._rows("PRAGMA integrity_check")[0][0])
