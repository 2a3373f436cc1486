"""`nasforge report`: an offline HTML page with plots, for benchmark and real-training searches,
rendered by headless Chromium to check that every plot loads."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli

FIGURES = ["search_curve.png", "best_so_far.png", "distribution.png", "best_cell.png"]


def _search(tmp_path: Path, name: str, *args: str) -> Path:
    db = tmp_path / "runs.db"
    res = run_cli("search", *args, "--storage", str(db), "--name", name, "--json", cwd=tmp_path, timeout=240)
    assert res.returncode == 0, res.stderr
    return db


def _report(tmp_path: Path, db: Path, name: str) -> Path:
    out = tmp_path / f"report-{name}"
    res = run_cli("report", name, "--storage", str(db), "--out", str(out), "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert Path(data["index"]) == (out / "index.html").resolve()
    return out


def _check_static(out: Path, n_trials: int, figures: list[str]) -> str:
    page = (out / "index.html").read_text()
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert srcs == figures
    for src in srcs:
        png = (out / src).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    # offline: nothing is fetched from elsewhere
    assert not re.search(r'(src|href)="(https?:)?//', page) and "@import" not in page
    body = page.split(f"<h2>Trials ({n_trials})</h2>")[1]
    assert body.count("<tr") == n_trials + 1  # header + one row per trial
    return page


@pytest.fixture(scope="module")
def benchmark_report(tmp_path_factory, nb201_csv):
    tmp = tmp_path_factory.mktemp("bench")
    db = _search(tmp, "evo", "--benchmark", "nb201", "--benchmark-file", str(nb201_csv), "--trials", "150",
                 "--objectives", "val_acc,params_M:min", "--strategy", "random")
    return _report(tmp, db, "evo")


def test_benchmark_report_has_every_plot_the_pareto_front_and_the_trial_table(benchmark_report):
    page = _check_static(benchmark_report, 150, FIGURES + ["pareto.png"])
    assert "Pareto front" in page and "c10_test_acc_200" in page
    assert page.count('<tr class="best">') == 1


@pytest.mark.slow
def test_report_of_a_real_training_search(tmp_path):
    db = _search(tmp_path, "real", "--dataset", "digits", "--strategy", "random", "--trials", "3", "--epochs", "1",
                 "--channels", "4", "--cells", "1", "--max-train", "300")
    out = _report(tmp_path, db, "real")
    page = _check_static(out, 3, FIGURES + ["learning_curves.png"])
    assert "test_acc" in page and "Trials (3)" in page and "pareto.png" not in page


def test_report_errors_are_one_line(tmp_path):
    res = run_cli("report", "nope", "--storage", str(tmp_path / "missing.db"), "--out", str(tmp_path / "r"))
    assert res.returncode == 2 and "does not exist" in res.stderr


def _chromium() -> str:
    """The chromium binary; installs Debian's chromium and chromium-driver when missing (as root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here (needs root and apt-get)")
    cmd = ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(cmd, capture_output=True, env=env, timeout=900, check=False).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600, check=False)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900, check=False)
        if done.returncode != 0:
            pytest.skip(f"could not install chromium with apt-get: {done.stderr.strip()[-300:]}")
    return shutil.which("chromium") or pytest.skip("apt-get installed chromium but it is not on PATH")


@pytest.mark.slow
def test_report_renders_in_headless_chromium_with_every_plot_loaded(benchmark_report, tmp_path):
    chromium = _chromium()
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", "--dump-dom",
           (benchmark_report / "index.html").as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    n = len(FIGURES) + 1
    # the page's own script marks each image that loaded with its natural width
    assert f'data-images-loaded="{n}/{n}"' in dom, dom[:500]
    widths = [int(w) for w in re.findall(r'data-loaded="(\d+)"', dom)]
    assert len(widths) == n and all(w >= 300 for w in widths), widths
    shot = tmp_path / "shot.png"
    done = subprocess.run(cmd[:-3] + [f"--screenshot={shot}", "--window-size=1200,2400",
                                      (benchmark_report / "index.html").as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0 and shot.stat().st_size > 20000, done.stderr[-1000:]


def test_report_plots_the_learning_curves_of_the_best_trials(tmp_path):
    from nasforge.api import make_spec
    from nasforge.evaluators.base import Result
    from nasforge.report import write_report
    from nasforge.storage import Store

    spec = make_spec(space="nb201", strategy="random", dataset="digits", trials=7)
    archs = [f"|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|{op}~2|"
             for op in ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none", "none")]
    with Store(tmp_path / "c.db") as store:
        exp = store.create_experiment("c", spec)
        for i, arch in enumerate(archs):
            tid = store.start_trial(exp.id, i, arch, f"k{i}", 3.0)
            curve = [{"epoch": e, "train_loss": 2.0 / e + i / 10, "train_acc": 30.0 * e, "val_loss": None,
                      "val_acc": None, "seconds": 0.1} for e in (1, 2, 3)]
            curve[-1].update(val_loss=0.5, val_acc=50.0 + i)
            info = {"curve": curve, "log": "..."} if i != 6 else {}
            store.finish_trial(tid, Result.ok({"val_acc": 50.0 + i}, hidden={"test_acc": 40.0 + i}, cost=1.0,
                                              fidelity=3.0, info=info))
        index = write_report(store, "c", tmp_path / "rep")
    page = index.read_text()
    assert "learning_curves.png" in page and "5 best trials" in page
    png = (tmp_path / "rep" / "learning_curves.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    from nasforge.evaluators.base import Objective
    from nasforge.report import _curve_trials

    with Store(tmp_path / "c.db", read_only=True) as store:
        picked = _curve_trials(store.trials(1), Objective("val_acc"))
    assert [t.number for t in picked] == [5, 4, 3, 2, 1]  # trial 6 is best but stored no curve
