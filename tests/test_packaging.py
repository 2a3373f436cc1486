"""The wheel: it builds, installs into a fresh virtual environment and runs NB201 outside the repository."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_wheel_installs_and_compares_outside_the_repo(tmp_path: Path) -> None:
    if importlib.util.find_spec("wheel") is None:
        pytest.skip("building the wheel offline needs the 'wheel' package (pip install wheel)")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q",
                    "-w", str(dist), str(ROOT)], check=True, capture_output=True, text=True, timeout=120)
    (whl,) = dist.glob("nasforge-*.whl")
    # a fresh venv; torch and the other dependencies come from this interpreter's site-packages
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], *(p for p in sys.path if p.endswith("site-packages"))}
    Path(purelib, "base_env.pth").write_text("\n".join(sorted(ours)) + "\n")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}  # no PYTHONPATH: only the venv counts
    # --ignore-installed: the checkout's own metadata (an editable install) must not count as installed
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed", "-q", str(whl)],
                   check=True, capture_output=True, text=True, timeout=120, env=env)
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(py), "-c", "import nasforge; print(nasforge.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the installed copy, not the checkout
    out = subprocess.run([str(venv / "bin" / "nasforge"), "compare", "--strategies", "random,evolution", "--seeds",
                          "100", "--budget-seconds", "12000", "--json"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["optimum"]["report"] == 94.373333
    assert {len(runs) for runs in data["results"].values()} == {100}
    mean = {name: sum(r["report"] for r in runs) / len(runs) for name, runs in data["results"].items()}
    assert 93.0 < mean["random"] < mean["evolution"] < 94.37, mean
