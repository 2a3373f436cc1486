"""Where evaluations run: in this thread, in a local pool of worker processes, or on Ray.

Every executor has the protocol the :class:`~nasforge.runner.Runner` needs: ``submit(fn, *args)``
returns a :class:`concurrent.futures.Future`, ``workers`` says how many evaluations may run at once,
and ``shutdown()`` releases the workers. The runner keeps ``workers`` trials in flight, asks the
strategy whenever one finishes and commits each result as it arrives; a future that raises is a
failed trial (:class:`TrialTimeoutError` makes it a ``timeout`` trial).

- :class:`~nasforge.runner.InlineExecutor` (``inline``): in the calling thread; no isolation.
- :class:`ProcessExecutor` (``process``): a pool of long-lived worker processes started by
  ``forkserver`` (torch is imported once in the server, so a new worker starts in milliseconds and
  no worker is forked from a process whose torch thread pools are already running). Each worker
  sets its torch thread count, a trial that runs past ``timeout`` has its worker killed, and a
  worker that dies (segfault, ``os._exit``, out of memory) fails only the trial it was running;
  the worker is replaced and the search goes on.
- :class:`RayExecutor` (``ray``): Ray tasks, on a local Ray started here or on a cluster at
  ``address``; timeouts cancel (kill) the task, and a task whose worker dies is not retried.

Objects passed to ``submit`` again and again (the evaluator, with its dataset or benchmark table)
are sent to each worker once and then referred to by a token, so a 3 MB benchmark table is not
pickled for every trial.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_ready
from typing import Any

from nasforge.errors import InvalidConfigError, NasforgeError
from nasforge.registry import Registry

__all__ = [
    "EXECUTORS",
    "ProcessExecutor",
    "RayExecutor",
    "ThreadExecutor",
    "TrialTimeoutError",
    "WorkerDiedError",
    "limit_threads",
    "make_executor",
    "ray_resources",
    "start_local_ray",
]

log = logging.getLogger("nasforge.executors")

# Imported once in the forkserver so each worker starts with them loaded.
DEFAULT_PRELOAD: tuple[str, ...] = ("torch", "nasforge.runner", "nasforge.evaluators.training",
                                    "nasforge.evaluators.tabular", "nasforge.spaces")
_PRIMITIVES = (str, bytes, int, float, bool, type(None))
_POLL_S = 0.2  # how often the pool checks deadlines when nothing else happens


class TrialTimeoutError(NasforgeError, TimeoutError):
    """A trial ran longer than the per-trial timeout; its worker was stopped.

    Attributes:
        seconds: how long the trial ran before it was stopped.
    """

    def __init__(self, message: str, seconds: float = 0.0) -> None:
        super().__init__(message)
        self.seconds = seconds


class WorkerDiedError(NasforgeError, RuntimeError):
    """The worker process running a trial exited before returning a result."""


def limit_threads(threads: int) -> None:
    """Set this process' thread pools (OpenMP/BLAS variables and torch) to ``threads``.

    Called at the start of every worker: two workers with torch's default of one thread per
    core each would oversubscribe a 2-core machine and run slower than one worker.
    """
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(threads)
        except RuntimeError:  # only possible before torch's first parallel work; harmless if late
            pass


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when its parent (the forkserver) exits.

    The forkserver exits when the runner that owns it does, so a SIGKILLed runner leaves no
    worker training on behind it. Best effort: other systems rely on the closed pipe instead.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_main(conn: Connection, threads: int, env: dict[str, str] | None = None) -> None:
    """Loop of one worker process: receive a task, run it, send back the outcome.

    ``env`` is set before anything runs (``CUDA_VISIBLE_DEVICES``: this worker's GPU, which CUDA
    reads when it first starts in the process).
    """
    os.environ.update(env or {})
    limit_threads(threads)
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the runner's to handle
    objects: dict[int, Any] = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the runner is gone
        if msg is None:
            return
        task_id, payload = msg
        try:
            fn, wire_args = pickle.loads(payload)
            args = []
            for kind, token, value in wire_args:
                if kind == "put":
                    objects[token] = value
                args.append(objects[token] if kind in ("put", "ref") else value)
            outcome: tuple[str, Any] = ("ok", fn(*args))
        except BaseException as exc:  # noqa: BLE001 - reported to the runner as the trial's error
            outcome = ("error", _portable_exception(exc))
        try:
            conn.send((task_id, outcome))
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send((task_id, ("error", RuntimeError(f"the trial's result could not be sent back: {exc}"))))
        except (EOFError, OSError):
            return


def _portable_exception(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling, else a RuntimeError carrying its type, text and traceback."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001 - any unpicklable exception is replaced
        tb = "".join(traceback.format_exception(exc, limit=6))
        return RuntimeError(f"{type(exc).__name__}: {exc}\n{tb}")


@dataclass
class _Task:
    id: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: Future[Any]
    started: float = 0.0
    deadline: float | None = None


@dataclass(eq=False)
class _Worker:
    process: Any
    conn: Connection
    tokens: set[int] = field(default_factory=set)
    slot: int = 0  # the worker's place in the pool: decides its GPU


class _Sticky:
    """Recognises objects submitted again and again, and gives each a token.

    An argument that was also an argument of the previous submit is sticky from then on: it is
    shipped to each worker once and named by its token afterwards. Holding a reference keeps its
    ``id`` from being reused by another object.
    """

    def __init__(self) -> None:
        self.tokens: dict[int, tuple[Any, int]] = {}
        self._previous: dict[int, Any] = {}
        self._next = itertools.count()

    def token(self, obj: Any) -> int | None:
        if isinstance(obj, _PRIMITIVES):
            return None
        held = self.tokens.get(id(obj))
        if held is not None:
            return held[1]
        if id(obj) in self._previous:
            tok = next(self._next)
            self.tokens[id(obj)] = (obj, tok)
            return tok
        return None

    def remember(self, args: Sequence[Any]) -> None:
        self._previous = {id(a): a for a in args if not isinstance(a, _PRIMITIVES)}


class ProcessExecutor:
    """A pool of local worker processes with per-trial timeouts and dead-worker recovery.

    Args:
        workers: number of worker processes (trials run at once).
        threads: torch/OpenMP threads in each worker (1 is fastest per worker on a small
            machine: ``workers * threads`` should not exceed the cores).
        timeout: seconds a trial may run; past it the worker is killed and the trial's future
            raises :class:`TrialTimeoutError`. None: no limit.
        start_method: ``forkserver`` (default) or ``spawn``; ``fork`` is refused because forking
            a process that already runs torch's thread pools can deadlock the child.
        preload: modules the forkserver imports once for all workers.
        gpus: GPUs to share among the workers: worker ``i`` sees only GPU ``i mod gpus``
            (``CUDA_VISIBLE_DEVICES``), so each trains on its own. None: the GPUs torch sees (or
            those ``CUDA_VISIBLE_DEVICES`` lists); 0 leaves the workers' environment alone.

    ``fn`` and its arguments must be picklable by reference (functions and classes defined at
    the top level of an importable module).

    Example:
        >>> with ProcessExecutor(2, timeout=60) as pool:  # doctest: +SKIP
        ...     pool.submit(pow, 2, 10).result()
        1024
    """

    def __init__(self, workers: int = 2, *, threads: int = 1, timeout: float | None = None,
                 start_method: str = "forkserver", preload: Sequence[str] = DEFAULT_PRELOAD,
                 gpus: int | None = None) -> None:
        if workers < 1 or threads < 1:
            raise InvalidConfigError(f"workers >= 1 and threads >= 1 must hold, but got "
                                     f"(workers={workers}, threads={threads})")
        if timeout is not None and timeout <= 0:
            raise InvalidConfigError(f"the trial timeout must be > 0 seconds, but got {timeout}")
        if start_method not in ("forkserver", "spawn"):
            raise InvalidConfigError(f"start_method must be 'forkserver' or 'spawn', but got {start_method!r}")
        self.workers = int(workers)
        self.threads = int(threads)
        self.timeout = timeout
        self.gpus = gpus
        self.restarts = 0  # workers replaced after dying or timing out
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(list(preload))
        self._lock = threading.RLock()
        self._sticky = _Sticky()
        self._ids = itertools.count()
        self._pending: deque[_Task] = deque()
        self._busy: dict[_Worker, _Task] = {}
        self._closed = False
        self._wake_r, self._wake_w = self._ctx.Pipe(duplex=False)
        self._pool: list[_Worker] = []
        self._idle: deque[_Worker] = deque()
        self._monitor: threading.Thread | None = None

    def _start(self) -> None:
        """Start the workers and the watcher on first use, so that a command that fails on its
        input does not pay for starting processes."""
        self._pool = [self._start_worker(i) for i in range(self.workers)]
        self._idle = deque(self._pool)
        self._monitor = threading.Thread(target=self._watch, name="nasforge-process-pool", daemon=True)
        self._monitor.start()

    # ------------------------------------------------------------------ public protocol
    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Queue ``fn(*args)`` for the next free worker."""
        fut: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("this ProcessExecutor has been shut down")
            if self._monitor is None:
                self._start()
            self._pending.append(_Task(next(self._ids), fn, args, fut))
            self._dispatch()
        return fut

    def shutdown(self) -> None:
        """Stop all workers (a running trial is abandoned) and cancel queued ones."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for task in self._pending:
                task.future.cancel()
            self._pending.clear()
            for worker, task in self._busy.items():
                worker.process.kill()
                if not task.future.done():
                    task.future.set_exception(RuntimeError("the executor was shut down while the trial ran"))
            self._busy.clear()
            for worker in self._pool:
                try:
                    worker.conn.send(None)
                except (OSError, ValueError):
                    pass
            self._wake()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        for worker in self._pool:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=2)
            worker.conn.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------------ internals
    def _start_worker(self, slot: int) -> _Worker:
        from nasforge.training.device import gpu_env_for_worker

        parent, child = self._ctx.Pipe()
        env = gpu_env_for_worker(slot, self.gpus)
        proc = self._ctx.Process(target=_worker_main, args=(child, self.threads, env), name="nasforge-worker",
                                 daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent, slot=slot)

    def _replace(self, worker: _Worker) -> None:
        """Swap a dead or killed worker for a fresh one (its cached objects are resent on demand)."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()
        self._pool.remove(worker)
        if worker in self._idle:
            self._idle.remove(worker)
        self.restarts += 1
        if not self._closed:
            fresh = self._start_worker(worker.slot)
            self._pool.append(fresh)
            self._idle.append(fresh)
            self._wake()  # the watcher must add the new worker's pipe to what it waits on

    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except (OSError, ValueError):
            pass

    def _encode(self, worker: _Worker, task: _Task) -> bytes:
        wire = []
        for a in task.args:
            tok = self._sticky.token(a)
            if tok is None:
                wire.append(("value", None, a))
            elif tok in worker.tokens:
                wire.append(("ref", tok, None))
            else:
                wire.append(("put", tok, a))
        self._sticky.remember(task.args)
        payload = pickle.dumps((task.fn, wire), protocol=pickle.HIGHEST_PROTOCOL)
        worker.tokens.update(tok for kind, tok, _ in wire if kind == "put")
        return payload

    def _dispatch(self) -> None:
        """Hand queued tasks to idle workers (called with the lock held)."""
        while self._pending and self._idle:
            task = self._pending.popleft()
            if not task.future.set_running_or_notify_cancel():
                continue
            worker = self._idle.popleft()
            try:
                payload = self._encode(worker, task)
            except Exception as exc:  # noqa: BLE001 - an unpicklable argument fails that trial only
                self._idle.appendleft(worker)
                task.future.set_exception(InvalidConfigError(
                    f"cannot send the trial to a worker process: {type(exc).__name__}: {exc}. Evaluators run by "
                    f"--executor process must be picklable (defined at the top level of an importable module)"))
                continue
            try:
                worker.conn.send((task.id, payload))
            except (OSError, ValueError) as exc:
                task.future.set_exception(WorkerDiedError(f"worker process {worker.process.pid} was gone: {exc}"))
                self._replace(worker)
                continue
            task.started = time.monotonic()
            task.deadline = task.started + self.timeout if self.timeout else None
            self._busy[worker] = task

    def _watch(self) -> None:
        """The pool's own thread: collects results, notices dead workers and enforces timeouts."""
        while True:
            with self._lock:
                if self._closed:
                    return
                waitables: list[Any] = [self._wake_r]
                for worker in self._pool:
                    # idle workers' pipes too: a task handed to one while we wait must wake us
                    waitables += [worker.process.sentinel, worker.conn]
                deadlines = [t.deadline for t in self._busy.values() if t.deadline is not None]
            now = time.monotonic()
            limit = min([_POLL_S, *(max(0.0, d - now) for d in deadlines)])
            try:
                ready = set(wait_ready(waitables, timeout=limit))
            except OSError:  # a connection closed under us by shutdown()
                ready = set()
            with self._lock:
                if self._closed:
                    return
                if self._wake_r in ready:
                    while self._wake_r.poll():
                        self._wake_r.recv_bytes()
                self._collect(ready)
                self._dispatch()

    def _collect(self, ready: set[Any]) -> None:
        now = time.monotonic()
        for worker in list(self._pool):
            task = self._busy.get(worker)
            if task is not None and worker.conn in ready:
                try:
                    task_id, (kind, value) = worker.conn.recv()
                except (EOFError, OSError):
                    pass  # died while sending: handled as a dead worker below
                else:
                    del self._busy[worker]
                    self._idle.append(worker)
                    if task_id != task.id:  # cannot happen with one task per worker; be loud if it does
                        value, kind = RuntimeError(f"worker answered task {task_id}, expected {task.id}"), "error"
                    if kind == "ok":
                        task.future.set_result(value)
                    else:
                        task.future.set_exception(value)
                    continue
            if worker.process.sentinel in ready or not worker.process.is_alive():
                worker.process.join(timeout=1)
                code = worker.process.exitcode
                how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
                if task is not None:
                    del self._busy[worker]
                    log.warning("worker process %s %s while running a trial; replacing it", worker.process.pid, how)
                    task.future.set_exception(WorkerDiedError(
                        f"worker process {worker.process.pid} {how} while running the trial"))
                self._replace(worker)
            elif task is not None and task.deadline is not None and now >= task.deadline:
                del self._busy[worker]
                ran = now - task.started
                log.warning("trial ran %.1f s, past the %.1f s timeout; killing worker %s", ran, self.timeout,
                            worker.process.pid)
                self._replace(worker)
                task.future.set_exception(TrialTimeoutError(
                    f"the trial ran past the per-trial timeout of {self.timeout:g} s and was stopped", ran))


def _ray_call(threads: int, fn: Callable[..., Any], *args: Any) -> Any:
    limit_threads(threads)
    return fn(*args)


def start_local_ray(ray: Any, num_cpus: int, *, dashboard: bool = False, **opts: Any) -> None:
    """Start a one-machine Ray whose every service listens on the loopback interface only.

    ``ray.init(_node_ip_address="127.0.0.1")`` alone is not enough: Ray turns a loopback node address
    back into the machine's reachable address unless it runs without cluster support (as it does on
    macOS and Windows), and its gRPC servers (GCS, raylet, workers) then listen on every interface.
    So cluster support is switched off while this node starts (the node's address is then 127.0.0.1
    and each server binds to it), and the dashboard, when asked for, listens on 127.0.0.1 too. A
    cluster reached with ``address`` is not affected.

    Args:
        ray: the imported ``ray`` module.
        num_cpus: CPUs the local node may use.
        dashboard: also start Ray's dashboard (on 127.0.0.1).
        opts: other ``ray.init`` keyword arguments.
    """
    try:
        from ray._private import ray_constants
    except ImportError:  # a Ray without this switch: its own defaults apply
        ray_constants = None
    env_key = getattr(ray_constants, "ENABLE_RAY_CLUSTERS_ENV_VAR", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    old_env = os.environ.get(env_key)
    old_flag = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[env_key] = "0"  # read by the node's own processes as they start
    if ray_constants is not None and old_flag is not None:
        ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        ray.init(num_cpus=num_cpus, _node_ip_address="127.0.0.1", include_dashboard=dashboard,
                 dashboard_host="127.0.0.1", **opts)
    finally:
        if ray_constants is not None and old_flag is not None:
            ray_constants.ENABLE_RAY_CLUSTER = old_flag
        if old_env is None:
            os.environ.pop(env_key, None)
        else:
            os.environ[env_key] = old_env


class RayExecutor:
    """Run trials as Ray tasks, on a local Ray started here or on an existing cluster.

    Args:
        workers: trials in flight; default: the cluster's CPUs divided by ``threads``. For a
            local Ray started here, also the number of CPUs it may use.
        address: a running cluster (``ray://host:10001`` or ``host:6379``); None starts a local
            Ray whose services listen on 127.0.0.1 only (:func:`start_local_ray`). The nodes need
            nasforge (and the data) installed.
        dashboard: with a local Ray, also start Ray's dashboard (on 127.0.0.1); off by default.
        threads: CPUs (and torch threads) per trial.
        timeout: seconds a trial may run before its task is cancelled (force-killed).
        gpus_per_trial: GPUs each trial requests (fractional shares a GPU between trials; 0: none).
            Ray then runs the trial on a node with that much GPU free and sets its
            ``CUDA_VISIBLE_DEVICES``.

    Example:
        >>> with RayExecutor(2) as ex:  # doctest: +SKIP
        ...     ex.submit(pow, 2, 10).result()
        1024
    """

    def __init__(self, workers: int | None = None, *, address: str | None = None, threads: int = 1,
                 timeout: float | None = None, dashboard: bool = False, gpus_per_trial: float = 0.0) -> None:
        if (workers is not None and workers < 1) or threads < 1:
            raise InvalidConfigError(f"workers >= 1 and threads >= 1 must hold, but got "
                                     f"(workers={workers}, threads={threads})")
        if timeout is not None and timeout <= 0:
            raise InvalidConfigError(f"the trial timeout must be > 0 seconds, but got {timeout}")
        if not float(gpus_per_trial) >= 0:
            raise InvalidConfigError(f"gpus_per_trial must be >= 0, but got {gpus_per_trial}")
        self.gpus_per_trial = float(gpus_per_trial)
        try:
            import ray
        except ImportError:
            raise InvalidConfigError("--executor ray needs Ray: pip install 'nasforge[ray]'") from None
        self._ray = ray
        self.threads = int(threads)
        self.timeout = timeout
        self._owns = not ray.is_initialized()
        if self._owns:
            opts: dict[str, Any] = {"log_to_driver": False, "configure_logging": True,
                                    "logging_level": logging.WARNING}
            if address:
                try:
                    ray.init(address=address, include_dashboard=False, **opts)
                except ConnectionError as exc:
                    raise InvalidConfigError(
                        f"cannot connect to the Ray cluster at {address}: {exc}. Check the address (`ray status` "
                        f"on the head node) and that this machine has the cluster's auth token, if it uses one"
                    ) from None
            else:
                ncpu = workers * self.threads if workers else (os.cpu_count() or 1)
                start_local_ray(ray, ncpu, dashboard=dashboard, **opts)
        cpus = float(ray.cluster_resources().get("CPU", 1))
        self.workers = int(workers or max(1, int(cpus // self.threads)))
        self._remote = ray.remote(_ray_call).options(**ray_resources(self.threads, self.gpus_per_trial))
        self._refs: dict[Any, Any] = {}  # id of a sticky object -> its ObjectRef
        self._sticky = _Sticky()
        self._lock = threading.Lock()
        self._running: dict[Future[Any], tuple[Any, float]] = {}  # our future -> (ObjectRef, start)
        self._closed = threading.Event()
        self._monitor: threading.Thread | None = None
        if timeout is not None:
            self._monitor = threading.Thread(target=self._watch, name="nasforge-ray-timeouts", daemon=True)
            self._monitor.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """Start ``fn(*args)`` as a Ray task; objects sent again and again go to the object store once."""
        wire = []
        for a in args:
            tok = self._sticky.token(a)
            if tok is None:
                wire.append(a)
            else:
                if tok not in self._refs:
                    self._refs[tok] = self._ray.put(a)
                wire.append(self._refs[tok])
        self._sticky.remember(args)
        ref = self._remote.remote(self.threads, fn, *wire)
        fut: Future[Any] = Future()
        fut.set_running_or_notify_cancel()
        with self._lock:
            self._running[fut] = (ref, time.monotonic())

        def done(inner: Future[Any]) -> None:
            with self._lock:
                if self._running.pop(fut, None) is None:
                    return  # already failed by the timeout
            exc = inner.exception()
            if exc is not None:
                fut.set_exception(WorkerDiedError(f"Ray task failed: {type(exc).__name__}: {exc}")
                                  if "WorkerCrashed" in type(exc).__name__ else exc)
            else:
                fut.set_result(inner.result())

        ref.future().add_done_callback(done)
        return fut

    def _watch(self) -> None:
        while not self._closed.wait(_POLL_S):
            now = time.monotonic()
            expired = []
            with self._lock:
                for fut, (ref, start) in list(self._running.items()):
                    if self.timeout is not None and now - start >= self.timeout:
                        del self._running[fut]
                        expired.append((fut, ref, now - start))
            for fut, ref, ran in expired:
                self._ray.cancel(ref, force=True)
                fut.set_exception(TrialTimeoutError(
                    f"the trial ran past the per-trial timeout of {self.timeout:g} s and was stopped", ran))

    def shutdown(self) -> None:
        """Cancel running tasks; stop Ray if this executor started it."""
        self._closed.set()
        with self._lock:
            running = list(self._running.items())
            self._running.clear()
        for fut, (ref, _) in running:
            self._ray.cancel(ref, force=True)
            if not fut.done():
                fut.set_exception(RuntimeError("the executor was shut down while the trial ran"))
        if self._monitor is not None:
            self._monitor.join(timeout=2)
        if self._owns and self._ray.is_initialized():
            self._ray.shutdown()

    def __enter__(self) -> RayExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


def ray_resources(threads: int, gpus_per_trial: float) -> dict[str, Any]:
    """The Ray task options of one trial: its CPUs, GPUs (only when it asks for some), no retries."""
    opts: dict[str, Any] = {"num_cpus": threads, "max_retries": 0}
    if gpus_per_trial > 0:
        opts["num_gpus"] = gpus_per_trial
    return opts


class ThreadExecutor:
    """Trials in a pool of threads of this process (for evaluators that release the GIL or wait on I/O).

    Example:
        >>> ex = ThreadExecutor(2)
        >>> ex.submit(sum, [1, 2]).result()
        3
        >>> ex.shutdown()
    """

    def __init__(self, workers: int = 2) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.workers = int(workers)
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="nasforge-trial")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


ExecutorFactory = Callable[..., Any]
#: name -> factory ``(*, workers, threads, timeout, address, gpus_per_trial) -> executor``. Every executor has
#: ``workers``, ``submit(fn, *args) -> Future`` and ``shutdown()`` (the protocol the runner uses).
EXECUTORS: Registry[ExecutorFactory] = Registry("executor")


def _no_address(kind: str, address: str | None) -> None:
    if address:
        raise InvalidConfigError(f"--address is for --executor ray, but the executor is {kind!r}")


@EXECUTORS.register("inline", "in the calling process, one trial at a time")
def _inline(*, workers: int | None, threads: int, timeout: float | None, address: str | None,
            gpus_per_trial: float = 0.0) -> Any:
    from nasforge.runner import InlineExecutor

    _no_address("inline", address)
    if workers not in (None, 1):
        raise InvalidConfigError(f"the inline executor runs one trial at a time, but --workers is {workers}; "
                                 f"use --executor process or ray")
    if timeout is not None:
        raise InvalidConfigError("a per-trial timeout needs --executor process or ray (an inline trial "
                                 "cannot be stopped)")
    return InlineExecutor()


@EXECUTORS.register("thread", "a pool of threads in this process (--workers N; no per-trial timeout)")
def _thread(*, workers: int | None, threads: int, timeout: float | None, address: str | None,
            gpus_per_trial: float = 0.0) -> Any:
    _no_address("thread", address)
    if timeout is not None:
        raise InvalidConfigError("a per-trial timeout needs --executor process or ray (a thread cannot be stopped)")
    return ThreadExecutor(workers or 2)


@EXECUTORS.register("process", "a local pool of worker processes (--workers N, --trial-timeout)")
def _process(*, workers: int | None, threads: int, timeout: float | None, address: str | None,
            gpus_per_trial: float = 0.0) -> Any:
    _no_address("process", address)
    n = workers or max(1, (os.cpu_count() or 1) // max(1, threads))
    return ProcessExecutor(n, threads=threads, timeout=timeout)


@EXECUTORS.register("ray", "Ray tasks on a local Ray or a cluster (--address)")
def _ray(*, workers: int | None, threads: int, timeout: float | None, address: str | None,
            gpus_per_trial: float = 0.0) -> Any:
    return RayExecutor(workers, address=address, threads=threads, timeout=timeout, gpus_per_trial=gpus_per_trial)


def make_executor(kind: str | None = None, *, workers: int | None = None, threads: int = 1,
                  timeout: float | None = None, address: str | None = None, gpus_per_trial: float = 0.0) -> Any:
    """Build a registered executor by name (see :data:`EXECUTORS`).

    Args:
        kind: ``inline``, ``thread``, ``process`` or ``ray``; None picks ``ray`` when an address
            is given, ``process`` when ``workers > 1`` or a timeout is set (a timeout needs a
            separate process to stop), else ``inline``.
        workers: trials at once. None: 1 for ``inline``, 2 for ``thread``, the cores divided by
            ``threads`` for ``process`` and a local ``ray``, the cluster's CPUs for ``ray`` with
            an address.
        threads: torch threads per worker.
        timeout: per-trial seconds (``process`` and ``ray``).
        address: Ray cluster address (``ray`` only).
        gpus_per_trial: GPUs a Ray trial requests (``ray`` only; the process pool gives each
            worker one GPU of the machine instead).

    Example:
        >>> make_executor("inline").workers
        1
    """
    if kind is None:
        kind = "ray" if address else ("process" if ((workers or 1) > 1 or timeout is not None) else "inline")
    factory = EXECUTORS.get(kind)
    if workers is not None and workers < 1:
        raise InvalidConfigError(f"--workers must be >= 1, but got {workers}")
    return factory(workers=workers, threads=threads, timeout=timeout, address=address, gpus_per_trial=gpus_per_trial)
