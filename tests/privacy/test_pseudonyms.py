"""Pseudonymised fields: stored as keyed pseudonyms at import, never in clear; matching and
segmentation still work on them; no key, no import (and no server)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml

from audience.errors import ConfigError
from audience.ingest.demo.generate import GeneratedFiles
from audience.ingest.importer import import_file
from audience.ingest.pseudonyms import pseudonym
from audience.pipelines.segment_run import run_segmentation
from audience.quality.clean import clean_workspace
from audience.realtime.runtime import build_suppression
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.privacy.conftest import KEY, NOW

FIELDS = ["email", "phone", "first_name", "last_name"]


def pseudonymising(root: Path) -> Workspace:
    Workspace.init(root)
    path = root / "audience.yaml"
    data = yaml.safe_load(path.read_text())
    data["privacy"] = {"pseudonymise": FIELDS}
    path.write_text(yaml.safe_dump(data))
    return Workspace.open(root, clock=FixedClock(NOW))


def test_models_never_see_raw_personal_data(
    small_files: GeneratedFiles, tmp_path: Path, keyed: str
) -> None:
    ws = pseudonymising(tmp_path / "ws")
    for kind, path in (("customers", small_files.customers), ("orders", small_files.orders)):
        import_file(ws, kind, path)
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        clean_workspace(con, ws.config, NOW)
        run_segmentation(con, ws.config, k=3, method="kmeans", clock=ws.clock)
        merged = con.execute("SELECT count(*) FROM merges WHERE rule = 'same_email'").fetchall()
    assert merged[0][0] > 0  # duplicates sharing an e-mail still resolve into one person

    with small_files.customers.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    # E-mails and phones anywhere; names in the name columns (a city may be 'Saint-Pierre').
    secrets_ = {r["email"].strip().lower() for r in rows if r["email"]}
    secrets_ |= {re.sub(r"\D", "", r["telephone"])[-9:] for r in rows if r["telephone"]}
    names = {r[c].strip().lower() for r in rows for c in ("nom", "prenom") if r[c]}
    with ws.warehouse(read_only=True) as warehouse:
        con = warehouse.con
        for table in (
            "customers",
            "customer_records_clean",
            "profiles",
            "identities",
            "features",
            "segment_runs",
            "segments",
            "merges",
            "trait_conflicts",
        ):
            text = " ".join(
                str(v) for row in con.execute(f'SELECT * FROM "{table}"').fetchall() for v in row
            ).lower()
            leaked = [s for s in secrets_ if len(s) >= 5 and s in text]
            assert not leaked, (table, leaked[:3])
        for table in ("customers", "customer_records_clean", "profiles"):
            stored = con.execute(
                f'SELECT list(lower(first_name)) || list(lower(last_name)) FROM "{table}"'
            ).fetchall()[0][0]
            assert not names & set(stored), table
        email = con.execute("SELECT email FROM customers WHERE email IS NOT NULL LIMIT 1")
        assert email.fetchall()[0][0].endswith("@pseudonymised.audience")
    first = next(r for r in rows if r["email"])
    assert pseudonym("email", first["email"], KEY.encode()) == pseudonym(
        "email", first["email"].upper() + " ", KEY.encode()
    )


def test_no_key_no_import_and_no_server(
    small_files: GeneratedFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDIENCE_PRIVACY__KEY", raising=False)
    ws = pseudonymising(tmp_path / "ws")
    with pytest.raises(ConfigError, match="AUDIENCE_PRIVACY__KEY"):
        import_file(ws, "customers", small_files.customers)
    with ws.warehouse(read_only=True) as warehouse:
        assert warehouse.count("customers") == 0  # nothing stored in clear instead
    with pytest.raises(ConfigError, match="pseudonymises"):
        build_suppression(ws, ws.settings)
