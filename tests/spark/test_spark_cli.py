"""``audience segment --engine spark`` and ``AUDIENCE_ENGINE=spark``, and the bad inputs of
the Spark engine: pyspark or Java missing, a lake whose columns differ, a silent master."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from audience.cli import app
from audience.errors import ClusterUnavailableError, EngineUnavailableError, InputError
from audience.store import spark_session as session_module
from audience.store.lake import register_lake
from audience.store.spark_session import check_master_answers, check_spark_available
from audience.store.workspace import Workspace

runner = CliRunner()
# pyspark leaves the files of its Arrow sockets to the garbage collector.
ARROW_FILES = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _check_run(output: str) -> dict[str, object]:
    run = json.loads(output)
    assert run["engine"] == "spark"
    assert run["method"] == "rfm"
    sizes = run["sizes"]
    assert isinstance(sizes, dict)
    assert sum(sizes.values()) == run["n_customers"]
    out = Path(str(run["output"]))
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert record["engine"] == "spark"
    written = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{out / 'memberships'}/*.parquet')"
    ).fetchall()
    assert written[0][0] == run["n_customers"]
    return run


@pytest.mark.usefixtures("spark")
@pytest.mark.parametrize("how", ["option", "environment"])
@pytest.mark.spark
@ARROW_FILES
def test_segment_on_spark_says_so(
    lake_ws: Workspace, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args = ["segment", "--method", "rfm", "--workspace", str(lake_ws.root), "--json"]
    if how == "option":
        args += ["--engine", "spark"]
    else:
        monkeypatch.setenv("AUDIENCE_ENGINE", "spark")
    code, out, err = invoke(*args)
    assert code == 0, err
    run = _check_run(out)
    assert run["lake"] == str(lake_ws.root / "lake")


@pytest.mark.spark
@ARROW_FILES
def test_lake_with_other_columns_names_them(spark, lake_ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lake = tmp_path / "lake"
    lake.mkdir()
    source = lake_ws.root / "lake"
    for table in ("customers", "order_lines"):
        (lake / f"{table}.parquet").write_bytes((source / f"{table}.parquet").read_bytes())
    duckdb.sql(
        f"""COPY (SELECT * EXCLUDE ("timestamp", user_id), "timestamp" AS ts,
                         42 AS user_id FROM read_parquet('{source / "events.parquet"}'))
            TO '{lake / "events.parquet"}' (FORMAT parquet)"""
    )
    with pytest.raises(InputError) as caught:
        register_lake(spark, lake)
    message = str(caught.value)
    assert "events" in message
    assert "user_id (expected string, found int)" in message
    assert "timestamp (missing, expected timestamp_ntz)" in message
    assert "ts (" not in message  # a column the engine does not read is not a mismatch


def test_lake_without_a_needed_table(tmp_path: Path) -> None:
    (tmp_path / "lake").mkdir()
    with pytest.raises(InputError, match=r"no customers\.parquet"):
        register_lake(None, tmp_path / "lake")  # type: ignore[arg-type]  # fails before Spark


def test_without_pyspark_the_message_names_the_extra_and_java(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        session_module.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyspark" else real(name, *a),
    )
    with pytest.raises(EngineUnavailableError, match=r"audience\[spark\].*Java"):
        check_spark_available()
    code, _, err = invoke("segment", "--engine", "spark", "--workspace", str(workspace.root))
    assert code == 2
    assert "pip install 'audience[spark]'" in err
    assert "Java 17" in err


def test_without_java_the_message_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no java there
    with pytest.raises(EngineUnavailableError, match="needs a Java runtime"):
        check_spark_available()


def test_a_master_that_does_not_answer_fails_at_once(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ClusterUnavailableError, match=r"spark://127\.0\.0\.1:1 does not answer"):
        check_master_answers("spark://127.0.0.1:1", timeout=2.0)
    check_master_answers("local[2]", timeout=2.0)  # nothing to reach: no error
    # Through the command, with no session already open in this process.
    monkeypatch.setattr(session_module, "_active_session", lambda: None)
    monkeypatch.setenv("AUDIENCE_SPARK__MASTER", "spark://127.0.0.1:1")
    monkeypatch.setenv("AUDIENCE_SPARK__CONNECT_TIMEOUT", "2")
    code, _, err = invoke("segment", "--engine", "spark", "--workspace", str(workspace.root))
    assert code == 75
    assert "AUDIENCE_SPARK__MASTER" in err


@pytest.mark.spark
@ARROW_FILES
def test_lake_and_output_given_as_urls(spark, lake_ws: Workspace, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A lake on an object store is a URL Spark's file systems open: file:// here, the same
    code as s3a:// or abfss:// on a cluster."""
    lake, out = (lake_ws.root / "lake").as_uri(), (tmp_path / "out").as_uri()
    args = ["segment", "--engine", "spark", "--method", "rfm", "--lake", lake, "--out", out]
    code, stdout, err = invoke(*args, "--workspace", str(lake_ws.root), "--json")
    assert code == 0, err
    run = json.loads(stdout)
    assert (run["lake"], run["output"]) == (lake, out)
    # Written through the cluster: the record is a text dataset of one part.
    (part,) = (tmp_path / "out" / "run.json").glob("part-*")
    assert json.loads(part.read_text(encoding="utf-8"))["engine"] == "spark"
    written = duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{tmp_path / 'out' / 'memberships'}/*.parquet')"
    ).fetchall()
    assert written[0][0] == run["n_customers"] > 0

    (tmp_path / "partial").mkdir()
    code, _, err = invoke(
        "segment", "--engine", "spark", "--lake", (tmp_path / "partial").as_uri(),
        "--workspace", str(lake_ws.root),
    )  # fmt: skip
    assert code != 0
    assert "has no customers.parquet (nor a customers/ directory)" in err
