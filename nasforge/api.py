"""The Python API: everything the CLI does, callable from a notebook.

An experiment is described by a JSON-ready *spec*; :func:`build_experiment` turns a spec into
components, and the spec is what the store keeps so ``resume`` can rebuild the same search.

Example:
    >>> import nasforge as nf
    >>> summary = nf.search(space="nb201", benchmark="nb201", strategy="evolution", trials=50, seed=0)  # doctest: +SKIP
    >>> summary.best.arch  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nasforge.errors import InvalidConfigError, NasforgeError
from nasforge.evaluators.base import Evaluator, parse_objectives
from nasforge.registry import Registry
from nasforge.runner import Budget, Constraint, Experiment, Runner, SearchSummary
from nasforge.spaces import space_from_spec, space_reference
from nasforge.spaces.base import SearchSpace
from nasforge.storage import Store
from nasforge.strategies import make_strategy

__all__ = ["BENCHMARKS", "BENCHMARK_FAMILIES", "build_evaluator", "build_experiment", "make_spec", "open_store",
           "resume", "search"]

# benchmark name -> (space it belongs to, NB201 protocol dataset)
BENCHMARKS: Registry[tuple[str, str]] = Registry("benchmark")
BENCHMARKS.register("nb201", "NAS-Bench-201, CIFAR-10 protocol (12-epoch valid signal, 200-epoch test report)")(
    ("nb201", "cifar10"))
BENCHMARKS.register("nb201-cifar100", "NAS-Bench-201, CIFAR-100 columns")(("nb201", "cifar100"))
BENCHMARKS.register("nb201-imagenet16", "NAS-Bench-201, ImageNet16-120 columns")(("nb201", "imagenet16"))
# space name -> builder(space, spec["evaluator"]) of a benchmark family other than NB201's TabularBenchmark
BENCHMARK_FAMILIES: dict[str, Callable[[SearchSpace, dict[str, Any]], Evaluator]] = {}
from nasforge.evaluators import nbgraph as _nbg; _nbg.register(BENCHMARKS, BENCHMARK_FAMILIES)  # noqa: E402,E702
from nasforge.evaluators import nb101 as _nb101; _nb101.register(BENCHMARKS, BENCHMARK_FAMILIES)  # noqa: E402,E702


def make_spec(*, space: str | SearchSpace = "nb201", strategy: str = "evolution", benchmark: str | None = None,
              dataset: str | None = None, trials: int | None = None, budget_seconds: float | None = None,
              wall_seconds: float | None = None, seed: int = 0, strategy_params: Mapping[str, Any] | None = None,
              space_config: Mapping[str, Any] | None = None, benchmark_file: str | None = None,
              signal: str | None = None, report: str | None = None, objectives: str | Sequence[str] | None = None,
              constraints: Mapping[str, float] | None = None, train: Mapping[str, Any] | None = None,
              data_root: str | None = None, extra_metrics: Sequence[str] = (),
              hardware: Mapping[str, Any] | None = None, device: str | None = None,
              precision: str | None = None, evaluator: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Collect search settings into a spec (validated when built). Exactly one of ``benchmark``
    and ``dataset`` picks the evaluator; ``train`` holds training settings (recipe fields of
    :class:`nasforge.training.Recipe` and data settings), ``device``/``precision`` are short for
    ``train={"device": ..., "precision": ...}``. Objectives or constraints that name a hardware cost metric
    (``latency_ms``, ``flops_M``, ...; see :mod:`nasforge.hardware`) wrap the evaluator in a
    :class:`~nasforge.hardware.CostEvaluator`; ``hardware`` sets its options (batch size, threads).
    ``evaluator`` instead gives the block of any registered evaluator kind (``{"kind": NAME, ...}``,
    see :mod:`nasforge.evaluators.kinds`)."""
    from nasforge.strategies import STRATEGIES

    space_block = space_reference(space, space_config)  # a name (unknown ones fail first) or a SearchSpace
    STRATEGIES.get(strategy)
    block: dict[str, Any]
    if evaluator is not None:  # a registered evaluator kind, described by its own block
        from nasforge.evaluators.kinds import EVALUATOR_KINDS

        if benchmark is not None or dataset is not None:
            raise InvalidConfigError("give an evaluator block, or --benchmark / --dataset, not both")
        EVALUATOR_KINDS.get(str(evaluator.get("kind")))
        block = dict(evaluator)
    elif (benchmark is None) == (dataset is None):
        raise InvalidConfigError("give exactly one of --benchmark (tabular look-up) and --dataset (real training)")
    elif benchmark is not None:
        bench_space, bench_dataset = BENCHMARKS.get(benchmark)
        if bench_space != space_block["name"]:
            raise InvalidConfigError(
                f"benchmark '{benchmark}' covers space '{bench_space}', not '{space_block['name']}'")
        block = {"kind": "benchmark", "name": benchmark, "dataset": bench_dataset,
                 "file": benchmark_file, "signal": signal, "report": report}
    else:
        config = {**dict(train or {}), **{k: v for k, v in (("device", device), ("precision", precision)) if v}}
        block = {"kind": "train", "dataset": dataset, "data_root": data_root, "config": config}
    objs = parse_objectives(objectives, "val_acc")
    from nasforge.hardware.spec import hardware_spec

    named = {o.metric for o in objs} | set(constraints or {}) | set(extra_metrics)
    hw = hardware_spec(named, constraints, block["kind"], hardware)
    if hw:
        block["hardware"] = hw
    extra = sorted(named - {"val_acc", "val_loss", "params_M"} - set(hw["metrics"] if hw else ()))
    if block["kind"] == "benchmark":
        block["extra"] = [m for m in extra if m != signal]
    if trials is None and budget_seconds is None and wall_seconds is None:
        trials = 100 if benchmark else 10
    return {
        "space": space_block,
        "strategy": {"name": strategy, "params": dict(strategy_params or {})},
        "evaluator": block,
        "objectives": [str(o) for o in objs],
        "constraints": [{"metric": k, "upper": float(v)} for k, v in (constraints or {}).items()],
        "budget": Budget(trials, budget_seconds, wall_seconds).to_dict(),
        "seed": int(seed),
    }


def build_evaluator(spec: Mapping[str, Any], space: SearchSpace) -> Evaluator:
    """The evaluator described by ``spec['evaluator']`` (cost-wrapped when it has a ``hardware`` block)."""
    ev = spec["evaluator"]
    if ev.get("hardware"):
        from nasforge.hardware.evaluator import with_costs

        inner = build_evaluator({**spec, "evaluator": {k: v for k, v in ev.items() if k != "hardware"}}, space)
        return with_costs(inner, space, ev["hardware"])
    from nasforge.evaluators.kinds import build_from_block

    if ev["kind"] == "benchmark":  # a seconds budget needs a usable cost column, checked as the table loads
        ev = {**ev, "require_cost": (spec.get("budget") or {}).get("seconds") is not None}
    return build_from_block(ev, space, int(spec.get("seed", 0)))


def build_experiment(spec: Mapping[str, Any], name: str | None = None) -> Experiment:
    """Turn a spec into an :class:`Experiment` (space, strategy, evaluator, objectives, budget).

    A one-shot spec (``"kind": "oneshot"``) holds its one-shot method in the strategy slot (see
    :mod:`nasforge.oneshot.experiment`).

    Raises:
        NasforgeError: a setting that would make trials fail or the search never end (checked before any
            trial, see :mod:`nasforge.validation`).
    """
    if spec.get("kind") == "oneshot":
        from nasforge.oneshot.experiment import build_oneshot_experiment

        return build_oneshot_experiment(spec, name)
    from nasforge.validation import check_experiment, check_spec

    check_spec(spec)
    space = space_from_spec(spec["space"])
    evaluator = build_evaluator(spec, space)
    check_experiment(space, evaluator, spec)
    strategy = make_strategy(spec["strategy"]["name"], space, seed=spec.get("seed", 0),
                             **spec["strategy"].get("params", {}))
    objectives = parse_objectives(spec.get("objectives"), evaluator.default_objective)
    b = spec["budget"]
    constraints = tuple(Constraint(c["metric"], c["upper"]) for c in spec.get("constraints", []))
    return Experiment(name or f"{spec['strategy']['name']}-{time.strftime('%Y%m%d-%H%M%S')}", space, strategy,
                      evaluator, objectives, Budget(b.get("trials"), b.get("seconds"), b.get("wall_seconds")),
                      dict(spec), constraints)


def open_store(storage: str | None, durability: str = "normal", *, read_only: bool = False) -> Store:
    """Open the store at ``storage`` (default ``nasforge.db`` in the working directory).

    ``read_only=True`` opens an existing store without changing it (see :class:`Store`).
    """
    return Store(storage or "nasforge.db", durability=durability, read_only=read_only)


def search(*, storage: str | None = None, name: str | None = None, progress: Any = None, executor: Any = None,
           in_memory: bool = False, durability: str = "normal", **settings: Any) -> SearchSummary:
    """Run a new search. ``settings`` are those of :func:`make_spec`; a one-shot ``strategy``
    (``darts``, ``spos``, ...) takes those of :func:`nasforge.oneshot.experiment.make_oneshot_spec`
    and runs as an experiment of the same store.

    Example:
        >>> s = search(space="nb201", benchmark="nb201", strategy="random", trials=20, in_memory=True)  # doctest: +SKIP
        >>> s = search(space="nb201", strategy="spos", dataset="digits", epochs=2, in_memory=True)  # doctest: +SKIP
    """
    from nasforge.oneshot.experiment import is_oneshot, make_oneshot_spec, run_oneshot

    if is_oneshot(str(settings.get("strategy", "evolution"))):
        ospec = make_oneshot_spec(**settings)
        ostore = None if in_memory else open_store(storage, durability)
        try:
            return run_oneshot(ospec, store=ostore, name=name, progress=progress)
        finally:
            if ostore is not None:
                ostore.close()
    spec = make_spec(**settings)
    exp = build_experiment(spec, name)
    store = None if in_memory else open_store(storage, durability)
    if store is not None:
        store.create_experiment(exp.name, spec)
    try:
        return Runner(exp, store, executor=executor, progress=progress).run()
    except Exception:
        if store is not None:  # an experiment that failed before its first trial is not left behind
            discard_if_empty(store, exp.name)
        raise
    finally:
        if store is not None:
            store.close()


def discard_if_empty(store: Store, name: str) -> bool:
    """Delete experiment ``name`` if it has no trial (a search that failed while starting); True if deleted."""
    try:
        rec = store.get_experiment(name)
        if store.trials(rec.id):
            return False
        store.delete_experiment(name)
    except NasforgeError:
        return False
    return True


def resume(name: str, *, storage: str | None = None, progress: Any = None, executor: Any = None,
           budget: Mapping[str, Any] | None = None) -> SearchSummary:
    """Continue a stored search where it stopped (optionally with a new budget)."""
    store = open_store(storage)
    try:
        rec = store.get_experiment(name)
        spec = dict(rec.spec)
        if spec.get("kind") == "oneshot":
            from nasforge.oneshot.experiment import run_oneshot

            if budget and any(v is not None for v in budget.values()):
                raise InvalidConfigError(f"'{name}' is a one-shot run: its epochs are fixed when it starts (the "
                                         f"learning-rate schedule depends on them); resume it without a new budget")
            return run_oneshot(spec, store=store, name=name, progress=progress, create=False)
        if budget:
            spec["budget"] = {**spec["budget"], **{k: v for k, v in budget.items() if v is not None}}
        exp = build_experiment(spec, name)
        return Runner(exp, store, executor=executor, progress=progress).run()
    finally:
        store.close()
