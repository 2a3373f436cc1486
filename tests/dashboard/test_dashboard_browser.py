"""Acceptance: a real NB201 search and the dashboard run in subprocesses; headless Chromium loads every
page while the search runs and checks that the trial count grows, that every chart rendered with no
JavaScript error in the console, and that an experiment named ``<script>alert(1)</script>`` is text."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest
from dashboard_browser import Browser, chromium_binary, env, free_port, nasforge_cmd, start_dashboard, stop

pytest.importorskip("starlette", reason="the dashboard extra (starlette, uvicorn) is not installed")

NAME = "<script>alert(1)</script>"
CHARTS = "[...document.querySelectorAll('.chart')].map(c => [c.id, +(c.dataset.rendered || 0), " \
         "c.querySelectorAll('canvas').length])"


def _run(db: Path, name: str, *args: str) -> list[str]:
    """A search on the NB201 table that ships with nasforge."""
    return nasforge_cmd("search", "--benchmark", "nb201", "--storage", str(db), "--name", name, "--json", *args)


def _wait_for_trials(db: Path, name: str, n: int, timeout: float = 60.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                row = con.execute("SELECT COUNT(*) FROM trials t JOIN experiments e ON t.experiment_id = e.id "
                                  "WHERE e.name = ? AND t.tell_order IS NOT NULL", (name,)).fetchone()
            if row and row[0] >= n:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the search did not reach {n} trials")


def _oneshot_experiment(db: Path) -> None:
    """A one-shot run as one-shot methods store it: one trial per epoch with its architecture weights, a
    learning curve and a log (DARTS space, so the trial page draws two cells)."""
    import numpy as np

    from nasforge.evaluators.base import Result
    from nasforge.spaces import get_space
    from nasforge.storage import Store

    space = get_space("darts")
    with Store(db) as store:
        exp = store.create_experiment("darts-oneshot", {"kind": "oneshot", "method": "darts",
                                                        "space": {"name": "darts"}, "budget": {"epochs": 3},
                                                        "evaluator": {"kind": "train", "dataset": "digits"}})
        for epoch in range(3):
            arch = space.sample(np.random.default_rng(epoch))
            p = 0.3 + 0.2 * epoch
            info = {"arch_weights": {"normal.n2.e0": {"sep_conv_3x3": p, "skip_connect": 1 - p}},
                    "curve": [{"epoch": e, "train_loss": 2.0 / e, "train_acc": 40.0 + 10 * e, "val_loss": 2.2 / e,
                               "val_acc": 35.0 + 10 * e, "seconds": 1.0 * e} for e in range(1, epoch + 2)],
                    "log": "epoch done <b>not bold</b>", "checkpoint": f"ckpt/{epoch}.pt", "device": "cpu"}
            tid = store.start_trial(exp.id, epoch, space.to_string(arch), arch.key, None)
            store.finish_trial(tid, Result.ok({"val_acc": 40.0 + 5 * epoch}, cost=3.0, info=info))
        store.set_status(exp.id, "finished")


def _charts_rendered(browser: Browser, expected: set[str]) -> None:
    """Wait until the page shows exactly the ``expected`` charts, each drawn by uPlot on a canvas."""
    want = json.dumps(sorted(expected), separators=(",", ":"))
    charts = browser.wait_for(f"(() => {{ const c = {CHARTS}; const ids = JSON.stringify(c.map(x => x[0]).sort()); "
                              f"return ids === '{want}' && c.every(x => x[1] > 0 && x[2] > 0) && c; }})()")
    assert sorted(c[0] for c in charts) == sorted(expected), charts


@pytest.mark.slow
def test_dashboard_follows_a_running_search_in_headless_chromium(tmp_path):
    chromium = chromium_binary()
    db = tmp_path / "runs.db"
    done = subprocess.run(_run(db, "mo", "--strategy", "random", "--trials", "120",
                               "--objectives", "val_acc,params_M:min"),
                          capture_output=True, text=True, env=env(), timeout=240)
    assert done.returncode == 0, done.stderr
    # many trials, stopped by wall-clock: still running while the browser watches
    search = subprocess.Popen(_run(db, NAME, "--strategy", "random", "--trials", "1000000", "--wall-seconds", "60"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env())
    dash = browser = None
    try:
        _wait_for_trials(db, NAME, 20)
        _oneshot_experiment(db)  # written while the search writes to the same file
        port = free_port()
        dash = start_dashboard(db, port)
        base = f"http://127.0.0.1:{port}/"
        browser = Browser(chromium, tmp_path / "profile")

        browser.goto(base + "#/")
        names = browser.wait_for("(() => { const a = [...document.querySelectorAll('a.exp-name')]"
                                 ".map(x => x.textContent); return a.length === 3 && a; })()")
        assert names == ["mo", NAME, "darts-oneshot"]
        # shown as text: no element was made from the name and only the page's own scripts exist
        assert browser.eval("document.querySelectorAll('script').length") == 2
        assert browser.eval("document.querySelectorAll('#experiments tbody script, #experiments tbody b').length") == 0

        browser.goto(base + "#/exp/" + urllib.parse.quote(NAME, safe=""))
        count = "+(document.querySelector('#trial-count') || {}).textContent || 0"
        first = browser.wait_for(count)
        assert browser.eval("document.querySelector('#exp-title').textContent") == NAME
        assert search.poll() is None, "the search ended before the page was checked"
        later = browser.wait_for(f"(() => {{ const n = {count}; return n > {first} && n; }})()", timeout=30)
        assert later > first
        _charts_rendered(browser, {"chart-trials", "chart-seconds"})
        browser.wait_for("document.querySelectorAll('#op-frequency tbody tr').length")
        assert browser.eval("document.querySelectorAll('#trials tbody tr').length") > 0
        # the trial table sorts by a clicked header and filters by text
        browser.eval("[...document.querySelectorAll('#trials th')].find(th => th.textContent.startsWith('val_acc'))"
                     ".click()")
        col = "[...document.querySelectorAll('#trials th')].findIndex(th => th.textContent.startsWith('val_acc'))"
        values = browser.eval(f"[...document.querySelectorAll('#trials tbody tr')].slice(0, 50)"
                              f".map(tr => +tr.children[{col}].textContent)")
        assert values == sorted(values, reverse=True) and len(values) == 50
        browser.eval("const f = document.querySelector('input[type=search]'); f.value = 'avg_pool_3x3~0|+|none';"
                     "f.dispatchEvent(new Event('input'))")
        archs = browser.eval("[...document.querySelectorAll('#trials tbody td.arch')].map(td => td.textContent)")
        assert archs and all("avg_pool_3x3~0|+|none" in a for a in archs)

        browser.goto(base + "#/exp/mo")
        _charts_rendered(browser, {"chart-trials", "chart-seconds", "chart-pareto"})

        browser.goto(base + "#/exp/mo/trial/3")
        assert browser.wait_for("document.querySelectorAll('#arch-drawing svg path').length") == 6
        assert browser.eval("document.querySelector('#trial-arch').textContent").startswith("|")
        assert "nasforge train --space nb201" in browser.eval("document.querySelector('pre.command').textContent")

        browser.goto(base + "#/exp/darts-oneshot")
        _charts_rendered(browser, {"chart-trials", "chart-seconds", "chart-curves", "chart-weights"})
        browser.goto(base + "#/exp/darts-oneshot/trial/2")
        _charts_rendered(browser, {"chart-trial-curve"})
        assert browser.eval("document.querySelectorAll('#arch-drawing svg').length") == 2  # normal and reduce cells
        assert browser.eval("document.querySelector('#trial-log').textContent") == "epoch done <b>not bold</b>"

        browser.goto(base + "#/compare?name=mo&name=" + urllib.parse.quote(NAME, safe=""))
        _charts_rendered(browser, {"chart-compare-trials", "chart-compare-seconds"})

        time.sleep(1.5)  # one more refresh of the live page before reading the console
        assert browser.problems == [], browser.problems
        assert browser.dialogs == []
    finally:
        if browser is not None:
            browser.close()
        if dash is not None:
            stop(dash)
        stop(search)
