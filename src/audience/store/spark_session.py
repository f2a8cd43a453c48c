"""The Spark session of the ``spark`` engine: checked before the JVM starts, then opened.

A missing extra, a missing Java or a master that does not answer each fail within seconds
with one line saying what to do, instead of a Py4J traceback or minutes of Spark's retries.
pyspark is imported here only, when a command asks for the Spark engine.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from audience.config.engine import SparkSettings
from audience.errors import ClusterUnavailableError, EngineUnavailableError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

INSTALL_HINT = "install it with \"pip install 'audience[spark]'\" and a Java 17+ runtime"

# pyspark 4 warns on every pandas conversion under pandas 3, whose use here (Arrow batches of
# numbers and strings) it handles; the warning says nothing a user can act on.
PANDAS_WARNING = "PySpark does not yet fully support pandas"


def java_executable() -> str | None:
    """The ``java`` Spark will start: ``$JAVA_HOME/bin/java``, else the one on the PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def check_spark_available() -> None:
    """Raise :class:`EngineUnavailableError` naming the extra and Java when either is absent."""
    if importlib.util.find_spec("pyspark") is None:
        raise EngineUnavailableError(
            f"the spark engine needs pyspark, which is not installed; {INSTALL_HINT}, or run "
            "with --engine duckdb"
        )
    if java_executable() is None:
        raise EngineUnavailableError(
            "the spark engine needs a Java runtime (17 or later) and none was found (no "
            "JAVA_HOME, no java on the PATH); install one (Debian: apt-get install "
            "openjdk-17-jre-headless) or run with --engine duckdb"
        )


def master_addresses(master: str) -> list[tuple[str, int]]:
    """Host and port of each master a ``spark://`` or ``sc://`` URL names; none for local,
    yarn or k8s (their client reports its own errors)."""
    scheme = master.split("://", 1)[0] if "://" in master else ""
    if scheme not in ("spark", "sc"):
        return []
    default = 7077 if scheme == "spark" else 15002
    hosts = master.split("://", 1)[1].split("/", 1)[0]
    found = []
    for part in hosts.split(","):  # spark://h1:7077,h2:7077 (standby masters)
        url = urlsplit(f"//{part}")
        found.append((url.hostname or "localhost", url.port or default))
    return found


def check_master_answers(master: str, timeout: float) -> None:
    """Raise :class:`ClusterUnavailableError` unless some master accepts a TCP connection."""
    addresses = master_addresses(master)
    reasons = []
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                return
        except OSError as exc:
            reasons.append(f"{host}:{port} ({exc.strerror or exc})")
    if addresses:
        raise ClusterUnavailableError(
            f"the Spark master {master} does not answer: {'; '.join(reasons)}; start it, or "
            "set AUDIENCE_SPARK__MASTER (local[*] runs on this machine)"
        )


def _under_spark_submit() -> bool:
    """spark-submit starts the driver with the JVM's gateway already open."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _active_session() -> SparkSession | None:
    if importlib.util.find_spec("pyspark") is None:
        return None
    from pyspark.sql import SparkSession

    return SparkSession.getActiveSession()


@contextmanager
def spark_session(settings: SparkSettings) -> Iterator[SparkSession]:
    """A Spark session for one command, stopped on exit.

    A session already active (a notebook's, Databricks', a test session's) is used as it is
    and left running: whoever opened it stops it. Under spark-submit, spark-submit owns it.
    """
    active = _active_session()
    if active is not None:
        yield active
        return
    check_spark_available()
    if not _under_spark_submit():
        check_master_answers(settings.master, settings.connect_timeout)
    # Workers must run this interpreter: the venv holding pandas, pyarrow and scikit-learn.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(settings.app_name)
    if not _under_spark_submit():
        builder = builder.master(settings.master)
    conf = {
        "spark.sql.session.timeZone": "UTC",  # the warehouse's timestamps are naive UTC
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.ui.enabled": str(settings.ui).lower(),
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.ansi.enabled": "false",  # DuckDB's NULL on a bad cast, not an error
        **settings.conf,
    }
    for key, value in conf.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=PANDAS_WARNING, category=FutureWarning)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        if not _under_spark_submit():
            session.stop()


def stop_gateway() -> None:
    """Stop the JVM pyspark started for this process, once its session is stopped.

    A command's process exits and the JVM with it; a long-lived one (a test session, a
    benchmark) calls this so that no Java process outlives its use.
    """
    from pyspark import SparkContext

    gateway = getattr(SparkContext, "_gateway", None)
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    if process is not None:
        if process.stdin is not None:  # the pipe whose end tells the JVM its driver is gone
            process.stdin.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None
