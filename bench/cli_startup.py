"""Start-up time of the ``audience`` command: ``--help`` must answer at once.

Each command runs as a fresh subprocess with this interpreter, ``--warmups`` times untimed
(byte-code and font caches), then ``--runs`` times timed, wall clock from spawn to exit:

1. ``python -c pass``: the bare interpreter, the floor;
2. ``python -c "import numpy, pandas, scipy, sklearn, matplotlib, duckdb, fastapi"``: the
   heavy libraries alone, what a CLI importing everything at start pays at least;
3. ``audience --help`` and ``audience import --help``, with this checkout's ``src`` first on
   ``PYTHONPATH`` (the console script next to the interpreter, else ``python -c``).

With ``--compare-ref REF`` the two ``audience`` commands also run on REF (checked out in a
temporary ``git worktree``, removed afterwards), and the table gives the speed-up.

Run: ``.venv/bin/python bench/cli_startup.py [--runs 15] [--warmups 2] [--compare-ref main]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = "numpy, pandas, scipy, sklearn, matplotlib, duckdb, fastapi"
CLI_CASES = (("audience --help", ["--help"]), ("audience import --help", ["import", "--help"]))


@dataclass
class Timing:
    label: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def iqr(self) -> float:
        if len(self.seconds) < 2:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.seconds, n=4)
        return q3 - q1


def _audience(args: list[str]) -> list[str]:
    """The ``audience`` console script run by this interpreter, or its equivalent."""
    script = Path(sys.executable).parent / "audience"
    if script.is_file():
        return [sys.executable, str(script), *args]
    return [sys.executable, "-c", "from audience.cli import main; main()", *args]


def _time(label: str, command: list[str], src: Path, runs: int, warmups: int) -> Timing:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(src), _pythonpath()]))}
    seconds: list[float] = []
    for i in range(warmups + runs):
        start = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"{label} failed ({done.returncode}):\n{done.stderr}")
        if i >= warmups:
            seconds.append(elapsed)
    return Timing(label, seconds)


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


@contextmanager
def _checkout(ref: str) -> Iterator[Path]:
    """REF in a temporary git worktree; yields its ``src`` directory."""
    with tempfile.TemporaryDirectory(prefix="audience-cli-bench-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), ref],
            check=True,
        )
        try:
            yield tree / "src"
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True
            )


def _row(t: Timing, floor: float, heavy: float, before: Timing | None = None) -> str:
    line = (
        f"{t.label:<34}{t.median:>8.3f}{min(t.seconds):>8.3f}{max(t.seconds):>8.3f}"
        f"{t.iqr:>8.3f}{t.median / floor:>9.1f}x{t.median / heavy:>9.2f}x"
    )
    if before is not None:
        line += f"{before.median / t.median:>10.1f}x"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    parser.add_argument("--warmups", type=int, default=2, help="untimed runs first")
    parser.add_argument("--compare-ref", metavar="REF", help="also time the CLI of this git ref")
    args = parser.parse_args()
    src = ROOT / "src"

    def timed(label: str, command: list[str], tree: Path = src) -> Timing:
        return _time(label, command, tree, args.runs, args.warmups)

    floor = timed("python -c pass", [sys.executable, "-c", "pass"])
    heavy = timed("import heavy libraries", [sys.executable, "-c", f"import {HEAVY}"])
    after = [timed(label, _audience(cli_args)) for label, cli_args in CLI_CASES]
    before: list[Timing] = []
    if args.compare_ref:
        with _checkout(args.compare_ref) as ref_src:
            before = [
                timed(f"{label} @ {args.compare_ref}", _audience(cli_args), ref_src)
                for label, cli_args in CLI_CASES
            ]

    print(f"{args.runs} timed runs per command after {args.warmups} warm-ups; wall seconds.")
    print(f"heavy libraries: {HEAVY}; src: {src}\n")
    header = f"{'command':<34}{'median':>8}{'min':>8}{'max':>8}{'IQR':>8}{'/ python':>10}"
    header += f"{'/ heavy':>10}" + (f"{'speed-up':>11}" if before else "")
    print(header)
    print(_row(floor, floor.median, heavy.median))
    print(_row(heavy, floor.median, heavy.median))
    for timing in before:
        print(_row(timing, floor.median, heavy.median))
    for i, timing in enumerate(after):
        print(_row(timing, floor.median, heavy.median, before[i] if before else None))
    worst = max(t.median for t in after)
    print(f"\nslowest CLI median {worst:.3f} s (target: 0.300 s or less).")


if __name__ == "__main__":
    main()
