"""An HTML report of one stored search: plots, the best cell and the trial table.

``write_report(store, name, out_dir)`` writes ``out_dir/index.html`` and the PNGs it shows:
the search curve (each trial's objective and the best so far), the best so far against charged
time (with the hidden report metric of the best-so-far architecture when there is one), the
distribution of accuracies, a drawing of the best architecture (the NB201 cell as a DAG; other
spaces as their list of choices), the learning curves of the best trials (when trials stored
them, as real training does) and, with several objectives, the Pareto front. The page has no
scripts or styles from elsewhere (it opens offline); images are files next to it, referenced by
relative paths, so the folder can be moved or zipped as a whole.

Example:
    >>> from nasforge.storage import Store
    >>> write_report(Store("runs.db"), "evo-1", "report/")  # doctest: +SKIP
    PosixPath('report/index.html')
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasforge.errors import InvalidConfigError
from nasforge.evaluators.base import Objective, Status
from nasforge.plots import pyplot, save_figure
from nasforge.storage import Store, TrialRecord

__all__ = ["draw_architecture", "write_report"]

_OP_COLORS = {"none": "#bbbbbb", "skip_connect": "#4c72b0", "nor_conv_1x1": "#dd8452", "nor_conv_3x3": "#c44e52",
              "avg_pool_3x3": "#55a868"}

# Marks every image that loaded (natural width > 0) so that a headless browser, or a person
# with the developer tools, can tell that no figure is missing. No network, no libraries.
_LOAD_CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; imgs[i].setAttribute("data-loaded", imgs[i].naturalWidth); }
  }
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
</script>"""

_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}h1{font-size:1.6em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:0.85em}td,th{border:1px solid #ddd;padding:3px 7px;text-align:left}
th{background:#f4f4f4}tr.best{background:#fff6d6}td.num{text-align:right;font-variant-numeric:tabular-nums}
.failed{color:#b00}.timeout{color:#b60}code{font-size:0.95em}figure{margin:1em 0}img{max-width:100%;
border:1px solid #eee}.grid{display:flex;flex-wrap:wrap;gap:1em}.grid figure{flex:1 1 480px}
figcaption{font-size:0.85em;color:#555}.wide{overflow-x:auto}"""


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def _best_so_far(records: Sequence[TrialRecord], obj: Objective,
                 feasible: Any = None) -> list[TrialRecord | None]:
    """After each trial: the best ok (feasible) trial so far by ``obj``, compared at the highest
    fidelity seen so far (the runner's rule, applied incrementally)."""
    out: list[TrialRecord | None] = []
    best: TrialRecord | None = None
    top = -math.inf
    for t in records:
        if t.status == Status.OK and obj.metric in t.metrics and (feasible is None or feasible(t)):
            f = t.fidelity or 0.0
            if f > top or best is None:
                top, best = f, t
            elif f == top and obj.score(t.metrics[obj.metric]) > obj.score(best.metrics[obj.metric]):
                best = t
        out.append(best)
    return out


def _plot_search_curve(records: Sequence[TrialRecord], obj: Objective, path: Path, feasible: Any = None) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    xs = np.arange(1, len(records) + 1)
    ok = [(x, t.metrics[obj.metric]) for x, t in zip(xs, records) if t.status == Status.OK and obj.metric in t.metrics]
    bad = [x for x, t in zip(xs, records) if t.status != Status.OK]
    if ok:
        ax.scatter([p[0] for p in ok], [p[1] for p in ok], s=14, alpha=0.6, label=f"trial {obj.metric}")
    bests = _best_so_far(records, obj, feasible)
    ys = [b.metrics[obj.metric] if b is not None else np.nan for b in bests]
    ax.step(xs, ys, where="post", color="k", lw=1.5, label="best so far")
    if bad:
        lo = min((p[1] for p in ok), default=0.0)
        ax.scatter(bad, [lo] * len(bad), marker="x", color="#b00", s=25, label="failed / timeout")
    ax.set_xlabel("trial (in order of completion)")
    ax.set_ylabel(f"{obj.metric} ({obj.direction})")
    ax.set_title("search curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right" if obj.direction == "max" else "upper right", fontsize=8)
    save_figure(fig, path, dpi=100)


def _plot_best_so_far(records: Sequence[TrialRecord], obj: Objective, report: str | None, path: Path,
                      feasible: Any = None) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    cost = np.cumsum([t.cost for t in records])
    bests = _best_so_far(records, obj, feasible)
    ys = [b.metrics[obj.metric] if b is not None else np.nan for b in bests]
    ax.step(cost, ys, where="post", label=f"{obj.metric} of best so far")
    if report:
        rs = [b.hidden.get(report, np.nan) if b is not None else np.nan for b in bests]
        if not all(np.isnan(rs)):
            ax.step(cost, rs, where="post", ls="--", label=f"{report} of best so far (hidden from the search)")
    ax.set_xlabel("charged seconds (cumulative)")
    ax.set_ylabel("value")
    ax.set_title("best so far against charged time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=100)


def _plot_distribution(records: Sequence[TrialRecord], metrics: Sequence[str], path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for m in metrics:
        vals = [t.metrics.get(m, t.hidden.get(m)) for t in records if t.status == Status.OK]
        vals = [v for v in vals if v is not None and not math.isnan(v)]
        if vals:
            ax.hist(vals, bins=min(40, max(5, len(vals) // 3)), alpha=0.55, label=f"{m} (n={len(vals)})")
    ax.set_xlabel("value")
    ax.set_ylabel("trials")
    ax.set_title("distribution over evaluated architectures")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=100)


def _curve_trials(records: Sequence[TrialRecord], obj: Objective, k: int = 5) -> list[TrialRecord]:
    """The ``k`` best successful trials that carry a learning curve (``info["curve"]``), best first."""
    with_curve = [t for t in records if t.status == Status.OK and t.info.get("curve") and obj.metric in t.metrics
                  and not math.isnan(t.metrics[obj.metric])]
    return sorted(with_curve, key=lambda t: -obj.score(t.metrics[obj.metric]))[:k]


def _plot_learning_curves(trials: Sequence[TrialRecord], obj: Objective, path: Path) -> None:
    plt = pyplot()
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, t in enumerate(trials):
        curve = t.info["curve"]
        color = f"C{i}"
        epochs = [c["epoch"] for c in curve]
        label = f"trial {t.number} ({obj.metric} {t.metrics[obj.metric]:.4g})"
        ax_loss.plot(epochs, [c.get("train_loss") for c in curve], "-o", ms=3, color=color, label=label)
        ax_acc.plot(epochs, [c.get("train_acc") for c in curve], "-o", ms=3, color=color, label=f"trial {t.number} "
                    "train")
        val = [(c["epoch"], c["val_acc"]) for c in curve if c.get("val_acc") is not None]
        if val:
            ax_acc.plot(*zip(*val), "s", ms=7, color=color, mfc="none", label=f"trial {t.number} validation")
        ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss")
    ax_loss.set_title("training loss")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (%)")
    ax_acc.set_title("accuracy: training (lines), validation (squares)")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    ax_loss.legend(fontsize=7)
    save_figure(fig, path, dpi=100)


def _plot_pareto(records: Sequence[TrialRecord], objectives: Sequence[Objective], front: Sequence[TrialRecord],
                 path: Path) -> None:
    plt = pyplot()
    a, b = objectives[0], objectives[1]
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    pts = [(t.metrics[b.metric], t.metrics[a.metric]) for t in records
           if t.status == Status.OK and a.metric in t.metrics and b.metric in t.metrics]
    if pts:
        ax.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, alpha=0.4, label="trials")
    fr = sorted((t.metrics[b.metric], t.metrics[a.metric]) for t in front)
    if fr:
        ax.plot([p[0] for p in fr], [p[1] for p in fr], "o-", color="#c44e52", ms=5, label=f"Pareto front ({len(fr)})")
    ax.set_xlabel(f"{b.metric} ({b.direction})")
    ax.set_ylabel(f"{a.metric} ({a.direction})")
    ax.set_title("Pareto front" + (f" (first two of {len(objectives)} objectives)" if len(objectives) > 2 else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=100)


def _plot_arch_weights(records: Sequence[TrialRecord], path: Path) -> bool:
    """One panel per edge: each operation's weight (one-shot ``info["arch_weights"]``) per epoch."""
    from matplotlib.ticker import MaxNLocator

    rows = [(t.info.get("epoch", t.number + 1), t.info["arch_weights"]) for t in records
            if isinstance(t.info.get("arch_weights"), dict) and t.info["arch_weights"]]
    if not rows:
        return False
    rows.sort(key=lambda r: r[0])
    edges = list(rows[-1][1])
    ops = list(dict.fromkeys(op for _, w in rows for e in edges for op in w.get(e, {})))
    cols = min(4, len(edges))
    nrows = (len(edges) + cols - 1) // cols
    plt = pyplot()
    fig, axes = plt.subplots(nrows, cols, figsize=(3.2 * cols, 2.3 * nrows + 0.6), squeeze=False, sharey=True)
    colors = plt.get_cmap("tab10")
    for k, edge in enumerate(edges):
        ax = axes[k // cols][k % cols]
        for i, op in enumerate(ops):
            ys = [w.get(edge, {}).get(op, float("nan")) for _, w in rows]
            ax.plot([e for e, _ in rows], ys, marker=".", color=_OP_COLORS.get(op, colors(i % 10)), label=op)
        ax.set_title(edge, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for k in range(len(edges), nrows * cols):
        axes[k // cols][k % cols].axis("off")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(len(ops), 5), fontsize=7)
    fig.supxlabel("epoch", fontsize=8)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    save_figure(fig, path, dpi=90)
    return True


def _draw_cell(graph: Any, ax: Any) -> None:
    """Draw a :class:`~nasforge.spaces.base.CellGraph`: inputs left, output right, one arc per edge
    (``none`` dotted), the operation written on the arc."""
    from matplotlib.patches import FancyArrowPatch

    n = len(graph.nodes)
    pos: dict[str, tuple[float, float]] = {}
    for k, name in enumerate(graph.nodes):
        if k < graph.inputs:
            y = 0.0 if graph.inputs == 1 else (0.9 if k == 0 else -0.9)
        elif k == n - 1:
            y = 0.0
        else:
            y = 0.9 if (k - graph.inputs) % 2 == 0 else -0.9
        pos[name] = (float(k), y)
    order = {name: k for k, name in enumerate(graph.nodes)}
    for src, dst, op in graph.edges:
        span = order[dst] - order[src]
        rad = 0.0 if span <= 1 else (0.15 if span == 2 else -0.45 * (1 if order[src] % 2 == 0 else -1))
        if op == "none":
            style, color, lw = "dotted", _OP_COLORS["none"], 1.0
        elif op == "concat":
            style, color, lw = "dashed", "#999999", 0.8
        else:
            style, color, lw = "solid", _OP_COLORS.get(op, "k"), 2.2
        ax.add_patch(FancyArrowPatch(pos[src], pos[dst], arrowstyle="-|>", mutation_scale=16, lw=lw, color=color,
                                     ls=style, connectionstyle=f"arc3,rad={rad}", shrinkA=16, shrinkB=16))
        if op == "concat":
            continue
        (x0, y0), (x1, y1) = pos[src], pos[dst]
        # the middle of an arc3 Bezier curve lies half-way to its control point
        mx, my = (x0 + x1) / 2 + rad * (y1 - y0) * 0.5, (y0 + y1) / 2 - rad * (x1 - x0) * 0.5
        ax.text(mx, my, op, ha="center", va="center", fontsize=7, color=color,
                bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": color, "lw": 0.6})
    for name, (x, y) in pos.items():
        ax.scatter([x], [y], s=700, color="#f4f4f4", edgecolors="k", zorder=3)
        ax.text(x, y, name, ha="center", va="center", fontsize=8 if len(name) > 3 else 10, zorder=4)
    ax.set_xlim(-0.5, n - 0.5)
    extra = 0.35 * max(0, n - 4)  # long arcs of wider cells bend further out
    ax.set_ylim(-1.5 - extra, 1.7 + extra)
    ax.set_aspect("equal")  # arc3 bends in display space: equal scales keep the labels on their arcs


def draw_architecture(space: Any, arch: Any, path: str | Path, title: str = "") -> Path:
    """Draw ``arch``: the cell(s) of any cell space as DAGs (the space's ``cell_graphs``; ``none``
    edges dotted), any other space as its labelled choices in order. ``space`` is a space or its name."""
    if isinstance(space, str):
        from nasforge.spaces import get_space

        space = get_space(space)
    plt = pyplot()
    out = Path(path)
    graphs = space.cell_graphs(arch)
    if graphs:
        width = max(len(g.nodes) for g in graphs.values())
        fig, axes = plt.subplots(len(graphs), 1, figsize=(max(7.5, 1.9 * width), 4.2 * len(graphs)), squeeze=False)
        for ax, (cell, graph) in zip(axes[:, 0], graphs.items()):
            _draw_cell(graph, ax)
            if len(graphs) > 1:
                ax.set_title(f"{cell} cell", fontsize=9)
            ax.axis("off")
        ax = axes[0, 0]
    else:
        items = [(k, arch[k]) for k in arch]
        fig, ax = plt.subplots(figsize=(7.5, max(2.0, 0.32 * len(items) + 0.8)))
        for r, (k, v) in enumerate(items):
            y = len(items) - r
            ax.text(0.02, y, str(k), ha="left", va="center", fontsize=9, family="monospace")
            ax.text(0.45, y, str(v), ha="left", va="center", fontsize=9,
                    bbox={"boxstyle": "round,pad=0.25", "fc": "#eef3fa", "ec": "#4c72b0", "lw": 0.6})
        ax.set_xlim(0, 1)
        ax.set_ylim(0.3, len(items) + 0.7)
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=9)
    save_figure(fig, out, dpi=100)
    return out


def _table(rows: Sequence[Sequence[str]], head: Sequence[str], classes: Sequence[str] | None = None,
           numeric: Sequence[bool] | None = None) -> str:
    numeric = numeric or [False] * len(head)
    out = ["<table>" + ("<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr></thead>"
                        if any(head) else "") + "<tbody>"]
    for i, r in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes and classes[i] else ""
        out.append(f"<tr{cls}>" + "".join(
            f'<td class="num">{html.escape(c)}</td>' if numeric[j] else f"<td>{html.escape(c)}</td>"
            for j, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def write_report(store: Store, name: str, out_dir: str | Path) -> Path:
    """Write ``out_dir/index.html`` and its PNGs for experiment ``name``; returns the HTML path.

    Raises:
        ExperimentNotFoundError: when ``name`` is not in the store.
        InvalidConfigError: when the experiment has no finished trial yet.
    """
    from nasforge.api import build_experiment
    from nasforge.runner import Runner

    rec = store.get_experiment(name)
    spec = rec.spec
    all_trials = store.trials(rec.id)
    records = sorted((t for t in all_trials if t.tell_order is not None), key=lambda t: t.tell_order or 0)
    if not records:
        raise InvalidConfigError(f"experiment '{name}' has no finished trial yet; nothing to report")
    exp = build_experiment(spec, name)
    runner = Runner(exp, None)
    runner.records = records
    summary = runner.summary()
    objectives = exp.objectives
    obj = objectives[0]
    report_metric = exp.evaluator.report_metric
    best = summary.best
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    figures: list[tuple[str, str, str]] = []  # file, title, caption
    def feasible(t: TrialRecord) -> bool:
        return all(c.satisfied(t.metrics) for c in exp.constraints)

    _plot_search_curve(records, obj, out / "search_curve.png", feasible)
    figures.append(("search_curve.png", "Search curve",
                    (f"Each trial's {obj.metric} in the order results arrived, and the best so far. "
                     "Crosses: failed or timed-out trials.")))
    _plot_best_so_far(records, obj, report_metric, out / "best_so_far.png", feasible)
    figures.append(("best_so_far.png", "Best so far",
                    "The best architecture's value against the seconds charged so far"
                    + (f"; dashed: its {report_metric}, which the search never saw." if report_metric else ".")))
    dist = [obj.metric] + ([report_metric] if report_metric else [])
    _plot_distribution(records, dist, out / "distribution.png")
    figures.append(("distribution.png", "Distribution of accuracies",
                    f"Histogram of {' and '.join(dist)} over the successful trials."))
    if best is not None:
        draw_architecture(exp.space, exp.space.parse(best.arch), out / "best_cell.png",
                          title=best.arch if len(best.arch) < 110 else "")
        figures.append(("best_cell.png", "Best architecture",
                        f"Trial {best.number}: {best.arch}"))
    curve_trials = _curve_trials(records, obj)
    if curve_trials:
        _plot_learning_curves(curve_trials, obj, out / "learning_curves.png")
        figures.append(("learning_curves.png", "Learning curves",
                        f"Per-epoch training loss and accuracy of the {len(curve_trials)} best trials by "
                        f"{obj.metric}; squares: validation accuracy where it was measured. "
                        "`nasforge trials NAME --trial N` prints a trial's curve and log."))
    if _plot_arch_weights(records, out / "arch_weights.png"):
        figures.append(("arch_weights.png", "Architecture weights per epoch",
                        "For each edge, the one-shot method's weight (or controller probability) of each "
                        "operation after every epoch."))
    if len(objectives) > 1:
        _plot_pareto(records, objectives, summary.pareto, out / "pareto.png")
        figures.append(("pareto.png", "Pareto front",
                        f"Non-dominated feasible trials over {', '.join(str(o) for o in objectives)}."))

    counts: dict[str, int] = {}
    for t in all_trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    overview = [
        ["experiment", name], ["status", rec.status],
        ["space", f"{spec['space']['name']} {spec['space'].get('config') or ''}".strip()],
        ["strategy", f"{spec['strategy']['name']} {spec['strategy'].get('params') or ''}".strip()],
        ["evaluator", ", ".join(f"{k}={v}" for k, v in spec["evaluator"].items() if v not in (None, [], {}))],
        ["objectives", ", ".join(str(o) for o in objectives)],
        ["budget", ", ".join(f"{k}={v}" for k, v in spec["budget"].items() if v is not None)],
        ["trials", ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))],
        ["charged seconds", f"{sum(t.cost for t in records):.1f}"],
        ["seed", str(spec.get("seed", 0))],
    ]
    if best is not None:
        overview.append(["best architecture", f"{best.arch} (trial {best.number})"])
        for k, v in {**best.metrics, **best.hidden}.items():
            overview.append([f"best {k}" + (" (hidden from the search)" if k in best.hidden else ""), _fmt(v)])

    metric_cols = list(dict.fromkeys([o.metric for o in objectives] + ["val_acc", "params_M"]))
    metric_cols = [m for m in metric_cols if any(m in t.metrics for t in all_trials)]
    hidden_cols = [report_metric] if report_metric and any(report_metric in t.hidden for t in all_trials) else []
    head = ["#", "status", "architecture", *metric_cols, *hidden_cols, "fidelity", "cost s", "error"]
    rows, classes = [], []
    order = {t.number: t.tell_order for t in all_trials}
    for t in sorted(all_trials, key=lambda t: (order[t.number] is None, order[t.number] or 0, t.number)):
        rows.append([str(t.number), t.status, t.arch, *(_fmt(t.metrics.get(m)) for m in metric_cols),
                     *(_fmt(t.hidden.get(m)) for m in hidden_cols), _fmt(t.fidelity), _fmt(t.cost),
                     (t.error or "")[:160]])
        classes.append("best" if best is not None and t.number == best.number else
                       (t.status if t.status in (Status.FAILED, Status.TIMEOUT) else ""))
    numeric = [True, False, False] + [True] * (len(metric_cols) + len(hidden_cols)) + [True, True, False]

    figs_html = "\n".join(
        f'<figure><h2>{html.escape(title)}</h2><img src="{file}" alt="{html.escape(title)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>" for file, title, caption in figures)
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nasforge report: {html.escape(name)}</title>
<style>{_CSS}</style>
</head><body>
<h1>nasforge report: {html.escape(name)}</h1>
<p>Written {html.escape(time.strftime('%Y-%m-%d %H:%M:%S'))} from <code>{html.escape(str(store.path))}</code>.
Strategies only saw the visible metrics; hidden ones (test accuracy) are shown here for reporting.</p>
<h2>Overview</h2>
{_table(overview, ["", ""])}
{figs_html}
<h2>Trials ({len(all_trials)})</h2>
<p>In order of completion; the best trial is highlighted. Running or over-budget trials come last.</p>
<div class="wide">{_table(rows, head, classes, numeric)}</div>
{_LOAD_CHECK}
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
