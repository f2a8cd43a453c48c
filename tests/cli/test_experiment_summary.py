"""``audience experiment analyze-summary`` and ``experiment size`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportions_ztest
from typer.testing import CliRunner

from audience.cli import app
from audience.experiments import sample_size

runner = CliRunner()

KEYS = {
    "name",
    "n",
    "mean",
    "lift",
    "ci_low",
    "ci_high",
    "p_value",
    "adjusted_p_value",
    "chance_to_win",
    "expected_loss",
}


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "newsletter.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_json_of_a_proportion_export(tmp_path: Path) -> None:
    path = _csv(tmp_path, "variant,n,conversions\nA,5000,500\nB,5100,570\n")
    code, out, err = run("experiment", "analyze-summary", path, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) >= {
        "metric",
        "engine",
        "difference",
        "srm_p_value",
        "srm_flagged",
        "variants",
        "notes",
    }
    assert doc["metric"] == "newsletter"
    assert (doc["engine"], doc["difference"]) == ("frequentist", "relative")
    assert [set(v) for v in doc["variants"]] == [KEYS, KEYS]
    treatment = doc["variants"][1]
    assert treatment["name"] == "B"
    assert treatment["lift"] == pytest.approx(570 / 5100 / 0.1 - 1)
    assert treatment["p_value"] == pytest.approx(proportions_ztest([570, 500], [5100, 5000])[1])
    assert treatment["adjusted_p_value"] == pytest.approx(treatment["p_value"])


def test_bayesian_absolute_with_another_control(tmp_path: Path) -> None:
    path = _csv(tmp_path, "variant,n,sum,sum_squares\nold,1000,520,900\nnew,1010,560,1000\n")
    code, out, err = run(
        "experiment",
        "analyze-summary",
        path,
        "--engine",
        "bayesian",
        "--difference",
        "absolute",
        "--control",
        "new",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    assert [v["name"] for v in doc["variants"]] == ["new", "old"]
    old = doc["variants"][1]
    assert old["lift"] == pytest.approx(0.52 - 560 / 1010)
    assert 0 < old["chance_to_win"] < 0.5
    assert old["expected_loss"] > 0
    assert old["p_value"] is None
    assert any("Bayesian prior: improper" in note for note in doc["notes"])


def test_a_proper_prior_is_stated_and_pulls_the_lift(tmp_path: Path) -> None:
    path = _csv(tmp_path, "variant,n,conversions\nA,5000,500\nB,5000,560\n")
    base = ("experiment", "analyze-summary", path, "--engine", "bayesian", "--json")
    flat = json.loads(run(*base)[1])
    code, out, err = run(*base, "--prior-mean", "0", "--prior-variance", "0.001")
    assert code == 0, err
    proper = json.loads(out)
    assert 0 < proper["variants"][1]["lift"] < flat["variants"][1]["lift"]
    assert any("normal on the relative lift, mean 0, variance 0.001" in n for n in proper["notes"])


def test_table_on_the_terminal_with_sequential_and_srm(tmp_path: Path) -> None:
    path = _csv(tmp_path, "variant,n,conversions\nA,5000,500\nB,5600,600\n")
    code, out, err = run("experiment", "analyze-summary", path, "--sequential")
    assert code == 0, err
    assert "B" in out and "p-value" in out
    assert "MISMATCH" in out
    assert "confidence sequences" in out


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("variant,n,sum,sum_squares\na,10,5,4\nb,1,1,1\n", (), "row 3: variant 'b': n is 1"),
        (
            "variant,n,sum,sum_squares\na,10,5,4\nb,10,5,-1\n",
            (),
            "sum_squares is -1; a sum of squares cannot be negative",
        ),
        (
            "variant,n,sum,sum_squares\na,10,5,1\nb,10,5,4\n",
            (),
            "row 2: variant 'a': sum_squares = 1 is too small for sum = 5",
        ),
        ("variant,n,conversions\na,10,5\nb,10,6\n", ("--engine", "magic"), "--engine 'magic'"),
        ("variant,n,conversions\na,10,5\nb,10,6\n", ("--weights", "1,x"), "--weights '1,x'"),
        (
            "variant,n,conversions\na,10,5\nb,10,6\n",
            ("--weights", "50,30,20"),
            "3 expected weights for 2 variants",
        ),
        (
            "variant,n,conversions\na,10,5\nb,10,6\n",
            ("--engine", "bayesian", "--prior-variance", "0"),
            "the prior variance is 0",
        ),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, text: str, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run("experiment", "analyze-summary", _csv(tmp_path, text), *args)
    assert code == 2
    assert message in " ".join(err.split())
    assert "Traceback" not in err + out


def test_size_prints_the_sample_size_and_the_power() -> None:
    code, out, err = run("experiment", "size", "--baseline", "0.10", "--mde", "0.01", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["n_per_arm"] == sample_size(0.10, 0.01)
    assert doc["n_total"] == 2 * doc["n_per_arm"]
    code, out, err = run("experiment", "size", "--baseline", "0.1", "--mde", "0.1", "--relative")
    assert code == 0, err
    assert f"{sample_size(0.1, 0.1, relative=True):,} units per arm" in " ".join(out.split())
    code, out, err = run(
        "experiment", "size", "--baseline", "0.1", "--mde", "0.01", "--n", "14745", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["power"] == pytest.approx(0.8, abs=1e-4)


def test_size_for_a_segment_needs_a_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(
        "experiment", "size", "--baseline", "0.1", "--mde", "0.01", "--segment", "vip"
    )
    assert code == 2
    assert "no workspace" in err and "audience init" in err
