"""``nasforge``: search, resume, inspect and compare architecture searches."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from nasforge.cli.common import RichProgress, echo_json, handle_errors, print_table, storage_option
from nasforge.cli.failures import exit_if_all_failed
from nasforge.cli.run_tools import cli_executor, execution_options
from nasforge.errors import InvalidConfigError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="nasforge")
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Neural architecture search for PyTorch."""
    import logging

    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)],
                        format="%(levelname)s %(name)s: %(message)s")


def _params(items: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, val = item.partition("=")
        if not sep:
            raise InvalidConfigError(f"--param expects KEY=VALUE, but got {item!r}")
        try:
            out[key] = json.loads(val)
        except json.JSONDecodeError:
            out[key] = val
    return out


def _summary_out(summary: Any, as_json: bool) -> None:
    data = summary.to_json()
    if as_json:
        echo_json(data)
        return
    best = data["best"]
    rows = [["experiment", data["experiment"]], ["trials", f"{data['trials']} ({data['failed']} failed)"],
            ["charged seconds", f"{data['cost_seconds']:.1f}"], ["wall seconds", f"{data['wall_seconds']:.1f}"]]
    if best:
        rows.append(["best architecture", best["arch"]])
        rows += [[k, f"{v:.4g}" if isinstance(v, float) else str(v)] for k, v in best["metrics"].items()]
    if data.get("storage"):
        rows.append(["store", str(Path(data["storage"]).resolve())])
    print_table([["", ""]] + rows, title="search result")


def _training_settings(epochs: int | None, batch_size: int | None, lr: float | None, optimizer: str | None,
                       threads: int | None, max_train: int | None, channels: int | None, cells: int | None,
                       augment: bool, device: str | None = None, precision: str | None = None) -> dict[str, Any]:
    train: dict[str, Any] = {}
    for key, val in (("epochs", epochs), ("batch_size", batch_size), ("lr", lr), ("optimizer", optimizer),
                     ("threads", threads), ("max_train", max_train), ("device", device), ("precision", precision)):
        if val is not None:
            train[key] = val
    model = {k: v for k, v in (("channels", channels), ("cells_per_stage", cells)) if v is not None}
    if model:
        train["model"] = model
    if augment:
        train["augment"] = True
    return train


def _gpus_per_trial(asked: float | None, device: str | None, dataset: str | None) -> float:
    """GPUs a Ray trial requests: as asked, else 1 when trials train on CUDA, else 0."""
    if asked is not None:
        return float(asked)
    if dataset is None:
        return 0.0
    from nasforge.training.device import resolve_device

    return 1.0 if resolve_device(device or "auto").type == "cuda" else 0.0


def training_options(fn: Any) -> Any:
    """Options shared by commands that train networks."""
    for opt in reversed([
        click.option("--epochs", type=int, help="Training epochs per architecture."),
        click.option("--batch-size", type=int),
        click.option("--lr", type=float, help="Peak learning rate."),
        click.option("--optimizer", type=str, help="sgd, adam or adamw."),
        click.option("--threads", type=int, help="torch threads per process (default 1)."),
        click.option("--max-train", type=int, help="Use at most this many training samples."),
        click.option("--channels", type=int, help="Network width (NB201: C of the first stage)."),
        click.option("--cells", type=int, help="Cells per stage (NB201: N)."),
        click.option("--augment/--no-augment", default=False, help="Random shifts during training."),
        click.option("--data-root", type=str, help="Folder holding dataset files (CIFAR-10 etc.)."),
        click.option("--target", type=str, help="For a .csv dataset: the column holding the class labels."),
        click.option("--device", type=str, help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps "
                                                "(default: auto)."),
        click.option("--precision", type=click.Choice(["32", "bf16", "16-mixed"]),
                     help="Training precision: 32, bf16 (autocast) or 16-mixed (autocast + gradient scaling)."),
    ]):
        fn = opt(fn)
    return fn


@cli.command()
@click.option("--space", default="nb201", show_default=True, help="Search space name.")
@click.option("--strategy", default="evolution", show_default=True, help="Search strategy name.")
@click.option("--benchmark", help="Tabular benchmark to query (e.g. nb201).")
@click.option("--dataset", help="Dataset to train on for real (e.g. digits, mnist, fashion-mnist, PATH.npz, "
              "PATH.csv with --target).")
@click.option("--trials", type=int, help="Number of evaluations.")
@click.option("--budget-seconds", type=float, help="Budget in charged seconds (simulated for benchmarks).")
@click.option("--wall-seconds", type=float, help="Budget in real elapsed seconds.")
@click.option("--seed", type=int, default=0, show_default=True)
@storage_option
@click.option("--name", help="Experiment name (default: strategy and time).")
@click.option("--param", "params", multiple=True, metavar="KEY=VALUE", help="Strategy hyperparameter (repeatable).")
@click.option("--benchmark-file", type=str, help="CSV with an arch_str column and metric columns "
              "(default: the NAS-Bench-201 table that ships with nasforge).")
@click.option("--signal", help="Benchmark column the search sees.")
@click.option("--report", help="Hidden benchmark column reported at the end.")
@click.option("--objectives", help="Comma list metric[:max|min] (default: val_acc:max).")
@click.option("--max-params", help="Hardware limit: at most this many parameters (e.g. 200k, 0.5M).")
@click.option("--max-flops", help="Hardware limit: at most this many forward FLOPs at batch 1 (e.g. 50M).")
@click.option("--max-latency-ms", type=float, help="Hardware limit: latency in ms (see --latency-column).")
@click.option("--latency-column", help="Latency --max-latency-ms limits: 'measured' (this machine), 'lut' "
              "(look-up table) or, with --benchmark, a device column such as pixel3 or raspi4.")
@click.option("--durability", type=click.Choice(["normal", "full"]), default="normal", show_default=True,
              help="SQLite sync: 'normal' survives a killed process, 'full' also a power cut (fsync per commit).")
@training_options
@click.option("--gpus-per-trial", type=float, help="GPUs a Ray trial requests (fractions share a GPU; default: "
              "1 when training on CUDA, else 0). Process workers each get one GPU of the machine, round-robin.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@execution_options
@handle_errors
def search(space: str, strategy: str, benchmark: str | None, dataset: str | None, trials: int | None,
           budget_seconds: float | None, wall_seconds: float | None, seed: int, storage: str, name: str | None,
           params: tuple[str, ...], benchmark_file: str | None, signal: str | None, report: str | None,
           objectives: str | None, max_params: str | None, max_flops: str | None,
           max_latency_ms: float | None, latency_column: str | None,
           durability: str, epochs: int | None, batch_size: int | None, lr: float | None,
           optimizer: str | None, threads: int | None, max_train: int | None, channels: int | None,
           cells: int | None, augment: bool, data_root: str | None, target: str | None, device: str | None,
           precision: str | None, gpus_per_trial: float | None, as_json: bool, **execution: Any) -> None:
    """Run a new search and store every trial."""
    from nasforge import api

    train = _training_settings(epochs, batch_size, lr, optimizer, threads, max_train, channels, cells, augment,
                               device, precision)
    if target is not None:
        train["target"] = target
    from nasforge.hardware.spec import hardware_constraints

    constraints = hardware_constraints(max_latency_ms=max_latency_ms, latency_column=latency_column,
                                       max_params=max_params, max_flops=max_flops, benchmark=benchmark is not None)
    if benchmark and train:
        raise InvalidConfigError("training options (--epochs, ...) apply to --dataset searches, not --benchmark")
    summary = api.search(space=space, strategy=strategy, benchmark=benchmark, dataset=dataset, trials=trials,
                         budget_seconds=budget_seconds, wall_seconds=wall_seconds, seed=seed,
                         strategy_params=_params(params), benchmark_file=benchmark_file, signal=signal,
                         report=report, objectives=objectives, constraints=constraints or None,
                         train=train, data_root=data_root,
                         storage=storage, name=name, progress=RichProgress(f"{strategy} on {space}"),
                         executor=cli_executor(threads, **execution,
                                               gpus_per_trial=_gpus_per_trial(gpus_per_trial, device, dataset)),
                         durability=durability)
    _summary_out(summary, as_json)
    exit_if_all_failed(summary, storage)


@cli.command()
@click.argument("name")
@storage_option
@click.option("--trials", type=int, help="New total trial budget.")
@click.option("--budget-seconds", type=float, help="New total charged-seconds budget.")
@click.option("--json", "as_json", is_flag=True)
@execution_options
@handle_errors
def resume(name: str, storage: str, trials: int | None, budget_seconds: float | None, as_json: bool,
           **execution: Any) -> None:
    """Continue a stored search: replays its history, reruns interrupted trials, goes on."""
    from nasforge import api

    summary = api.resume(name, storage=storage, progress=RichProgress(f"resume {name}"),
                         executor=cli_executor(None, **execution),
                         budget={"trials": trials, "seconds": budget_seconds})
    _summary_out(summary, as_json)
    exit_if_all_failed(summary, storage)


@cli.command()
@click.argument("name", required=False)
@storage_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def status(name: str | None, storage: str, as_json: bool) -> None:
    """List experiments, or show one experiment's progress."""
    from nasforge.api import open_store

    if not Path(storage).exists():
        raise InvalidConfigError(f"store {storage} does not exist; run `nasforge search --storage {storage}` first")
    with open_store(storage, read_only=True) as store:
        recs = [store.get_experiment(name)] if name else store.list_experiments()
        rows = []
        for rec in recs:
            n = rec.name
            trials = store.trials(rec.id)
            counts: dict[str, int] = {}
            for t in trials:
                counts[t.status] = counts.get(t.status, 0) + 1
            rows.append({"name": n, "status": rec.status, "strategy": rec.spec["strategy"]["name"],
                         "space": rec.spec["space"]["name"], "budget": rec.spec["budget"],
                         "trials": counts, "cost_seconds": sum(t.cost for t in trials if t.tell_order is not None),
                         "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(rec.created)),
                         "owner": rec.owner if rec.status == "running" else None})
    if as_json:
        echo_json({"experiments": rows})
        return
    table = [["name", "status", "strategy", "space", "trials", "charged s", "created"]]
    for r in rows:
        table.append([r["name"], r["status"], r["strategy"], r["space"],
                      ", ".join(f"{k} {v}" for k, v in sorted(r["trials"].items())) or "0",
                      f"{r['cost_seconds']:.1f}", r["created"]])
    print_table(table, title=f"experiments in {storage}")


@cli.command()
@click.argument("name")
@storage_option
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def best(name: str, storage: str, as_json: bool) -> None:
    """Show the best architecture of a stored search."""
    from nasforge.api import build_experiment, open_store
    from nasforge.runner import Runner

    with open_store(storage, read_only=True) as store:
        rec = store.get_experiment(name)
        exp = build_experiment(rec.spec, name)
        runner = Runner(exp, None)
        runner.records = sorted((t for t in store.trials(rec.id) if t.tell_order is not None),
                                key=lambda t: t.tell_order or 0)
        summary = runner.summary()
        summary.storage = storage
        summary.status = rec.status  # truthful: 'interrupted' for a stopped or crashed run
    _summary_out(summary, as_json)


@cli.command()
@click.option("--space", default="nb201", show_default=True)
@click.option("--arch", required=True, help="Architecture in the space's string form.")
@click.option("--dataset", default="digits", show_default=True)
@training_options
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--final", is_flag=True, help="Train on train+validation (stand-alone retraining).")
@click.option("--save", type=click.Path(dir_okay=False), help="Write the trained weights (state dict) here.")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def train(space: str, arch: str, dataset: str, epochs: int | None, batch_size: int | None, lr: float | None,
          optimizer: str | None, threads: int | None, max_train: int | None, channels: int | None,
          cells: int | None, augment: bool, data_root: str | None, target: str | None, device: str | None,
          precision: str | None, seed: int, final: bool, save: str | None, as_json: bool) -> None:
    """Train one architecture stand-alone and report validation and test accuracy.

    An architecture of a joint space brings its training hyperparameters (``train.*`` labels),
    so the best trial of a joint search is retrained with the recipe it was found with.
    """
    from dataclasses import asdict

    from nasforge.spaces import get_space
    from nasforge.training.device import resolve_device
    from nasforge.training.recipe import recipe_for, split_settings
    from nasforge.training.standalone import DataSettings, train_architecture

    sp = get_space(space)
    a = sp.parse(arch)
    settings = _training_settings(epochs, batch_size, lr, optimizer, threads, max_train, channels, cells, augment,
                                  device, precision)
    settings.setdefault("epochs", 20)
    if target is not None:
        settings["target"] = target
    from nasforge.validation import check_train_settings

    check_train_settings({**settings, "seed": seed})  # non-finite or out-of-range settings: exit 2 before training
    recipe, data_settings = split_settings({**settings, "seed": seed})
    recipe = recipe_for(recipe, a)
    data_cfg = DataSettings(**data_settings)
    resolve_device(recipe.device)  # an absent device: exit 2 before loading data
    if not as_json:
        click.echo(f"training {sp.to_string(a)} on {dataset} for {recipe.epochs} epochs ...", err=True)
    out = train_architecture(sp, a, dataset, recipe, data_cfg, data_root=data_root, final=final)
    data = {"arch": sp.to_string(a), "dataset": dataset, "val_acc": out.val_acc, "test_acc": out.test_acc,
            "params": out.params, "seconds": round(out.seconds, 2), "epochs": out.epochs,
            "device": out.result.device, "precision": out.result.precision, "recipe": recipe.to_dict()}
    if save:
        from nasforge.export import save_model

        save_model(out.model, save, space=space, arch=sp.to_string(a), config={**recipe.to_dict(), **asdict(data_cfg)})
        data["saved"] = str(Path(save).resolve())
    if as_json:
        echo_json(data)
    else:
        print_table([["", ""]] + [[k, f"{v:.4g}" if isinstance(v, float) else str(v)] for k, v in data.items()],
                    title="stand-alone training")


@cli.command()
@click.option("--space", help="Search space (default: the benchmark's space, e.g. nb201, nbgraph).")
@click.option("--benchmark", default="nb201", show_default=True)
@click.option("--strategies", default="random,evolution", show_default=True, help="Comma list of strategies.")
@click.option("--seeds", type=int, default=100, show_default=True, help="Number of seeds (0..N-1).")
@click.option("--trials", type=int, help="Queries per run.")
@click.option("--budget-seconds", type=float, help="Simulated seconds per run (NB201 paper: 12000).")
@click.option("--benchmark-file", type=str, help="CSV with an arch_str column and metric columns "
              "(default: the NAS-Bench-201 table that ships with nasforge).")
@click.option("--signal")
@click.option("--report")
@click.option("--param", "params", multiple=True, metavar="STRATEGY.KEY=VALUE",
              help="Strategy hyperparameter, e.g. evolution.population_size=20 (repeatable).")
@click.option("--plot", type=click.Path(dir_okay=False), help="Write best-so-far curves to this PNG.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Worker processes (runs are independent).")
@click.option("--at", "at", help="Also print the table after these query counts, e.g. 50,100,150 (with --trials).")
@click.option("--json", "as_json", is_flag=True)
@handle_errors
def compare(space: str | None, benchmark: str, strategies: str, seeds: int, trials: int | None,
            budget_seconds: float | None, benchmark_file: str | None, signal: str | None, report: str | None,
            params: tuple[str, ...], plot: str | None, jobs: int, at: str | None, as_json: bool) -> None:
    """Run strategies over many seeds and print an NB201-style table (mean ± std)."""
    from nasforge.compare import compare as run_compare
    from nasforge.compare import format_table

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    if seeds < 1:
        raise InvalidConfigError(f"--seeds must be >= 1, but got {seeds}")
    if jobs < 1:
        raise InvalidConfigError(f"--jobs must be >= 1, but got {jobs}")
    try:
        at_list = [int(k) for k in at.split(",")] if at else []
    except ValueError:
        raise InvalidConfigError(f"--at expects comma-separated query counts, but got {at!r}") from None
    if any(k < 1 for k in at_list):
        raise InvalidConfigError(f"--at query counts must be >= 1, but got {at!r}")
    per: dict[str, dict[str, Any]] = {}
    for key, val in _params(params).items():
        strat, dot, p = key.partition(".")
        if not dot:
            raise InvalidConfigError(f"--param for compare expects STRATEGY.KEY=VALUE, but got {key!r}")
        per.setdefault(strat, {})[p] = val
    if trials is None and budget_seconds is None:
        trials = 100
    progress = RichProgress("compare")
    progress.start(len(names) * seeds, "runs")
    done = [0]

    def tick(_name: str, _seed: int) -> None:
        done[0] += 1
        progress.advance(done[0], None, "")

    try:
        if space is None:
            from nasforge.api import BENCHMARKS

            space = BENCHMARKS.get(benchmark)[0]
        data = run_compare(names, list(range(seeds)), space=space, benchmark=benchmark, trials=trials,
                           budget_seconds=budget_seconds, strategy_params=per, benchmark_file=benchmark_file,
                           signal=signal, report=report, on_run=tick, jobs=jobs, at=at_list)
    finally:
        progress.stop()
    if plot:
        from nasforge.plots import plot_compare_curves

        plot_compare_curves(data, plot)
    if as_json:
        for runs in data["results"].values():
            for r in runs:
                r.pop("curve", None)
        echo_json(data)
        return
    budget = f"{budget_seconds:g} simulated s" if budget_seconds else f"{trials} queries"
    for k in at_list:
        print_table(format_table(data, at=k), title=f"{benchmark}: {seeds} seeds, best after {k} queries (mean ± std)")
    print_table(format_table(data), title=f"{benchmark}: {seeds} seeds, {budget} per run (mean ± std)")
    click.echo(f"total {data['total_seconds']:.2f} s; per strategy: " +
               ", ".join(f"{k} {v:.2f} s" for k, v in data["seconds"].items()))
    click.echo("strategy overhead per query (ask+tell): " +
               ", ".join(f"{k} {v:.2f} ms" for k, v in data["overhead_ms_per_query"].items()))
    if plot:
        click.echo(f"plot written to {plot}")


@cli.command(name="list")
@click.argument("what", type=click.Choice(["spaces", "strategies", "one-shot", "supernets", "evaluators", "executors",
                                           "datasets", "benchmarks"]), required=False)
@handle_errors
def list_cmd(what: str | None) -> None:
    """List registered spaces, strategies (black-box and one-shot), supernets, evaluator kinds, executors,
    datasets and benchmarks."""
    from nasforge.api import BENCHMARKS
    from nasforge.data.datasets import DATASETS
    from nasforge.oneshot import ONESHOT
    from nasforge.spaces import SPACES
    from nasforge.strategies import STRATEGIES

    from nasforge.evaluators.kinds import EVALUATOR_KINDS
    from nasforge.executors import EXECUTORS
    from nasforge.oneshot.supernet import SUPERNETS

    regs = {"spaces": SPACES, "strategies": STRATEGIES, "one-shot": ONESHOT, "supernets": SUPERNETS,
            "evaluators": EVALUATOR_KINDS, "executors": EXECUTORS, "datasets": DATASETS, "benchmarks": BENCHMARKS}
    for key, reg in regs.items():
        if what and key != what:
            continue
        click.echo(f"{key}:")
        for n in reg.names():
            click.echo(f"  {n:<20} {reg.describe(n)}")


# Command modules of later features: each defines `register(cli)`; one line each, in this block.
# --- command modules ---
from nasforge.cli import benchmark_tools; benchmark_tools.register(cli)  # noqa: E402,E702
from nasforge.cli import run_tools; run_tools.register(cli)  # noqa: E702
from nasforge.cli import pareto; pareto.register(cli)  # noqa: E702
from nasforge.cli import oneshot; oneshot.register(cli)  # noqa: E402,E702
from nasforge.cli import fit; fit.register(cli)  # noqa: E402,E702
from nasforge.cli import manage; manage.register(cli)  # noqa: E402,E702
from nasforge.cli import dashboard; dashboard.register(cli)  # noqa: E402,E702
# --- end command modules ---


def main() -> None:
    """Console entry point."""
    cli(prog_name="nasforge")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
