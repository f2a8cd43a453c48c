"""A workspace whose customer file carries custom traits, imported, cleaned, with features.

Sixty customers of a French CRM export with five columns the schema does not know: a loyalty
tier (category), loyalty points with a decimal comma (number), a customer-since date (date),
a VIP newsletter flag written oui/non (boolean) and free-text interests (text). Two records
share an e-mail, so that cleaning merges them and survivorship decides their traits.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from audience.config import FeatureSettings
from audience.features.behaviour import compute_features
from audience.ingest.importer import import_file
from audience.quality.clean import clean_workspace
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.conftest import write

NOW = datetime(2026, 11, 25, 12, 0, 0)
TIERS = ("gold", "silver", "bronze")
HEADER = "id;email;prenom;nom;Loyalty Tier;Points fidélité;Client depuis;Newsletter VIP;Intérêts"


def customer_rows(n: int = 60) -> list[str]:
    rows = []
    for i in range(n):
        points = f"{i * 37 % 1500:,}".replace(",", " ") + ",50"
        since = f"{1 + i % 28:02d}/{1 + i % 12:02d}/20{15 + i % 10}"
        vip = "oui" if i % 3 == 0 else "non"
        rows.append(
            f"C{i:03d};c{i}@example.fr;Prénom{i};Nom{i};{TIERS[i % 3]};{points};{since};{vip};"
            f"aime le produit {i}"
        )
    return rows


def order_rows(n: int = 60) -> list[str]:
    rows = ["commande;client;date_commande;montant"]
    for i in range(n):
        for j in range(1 + i % 3):
            rows.append(
                f"O{i:03d}-{j};C{i:03d};{1 + (i + j) % 28:02d}/{1 + j * 3:02d}/2026;{i + 10},50"
            )
    return rows


def traits_workspace(root: Path) -> Workspace:
    ws = Workspace.init(root)
    ws = Workspace(ws.root, ws.config, ws.settings, FixedClock(NOW))
    import_file(ws, "customers", write(root / "crm.csv", "\n".join([HEADER, *customer_rows()])))
    import_file(ws, "orders", write(root / "orders.csv", "\n".join(order_rows())))
    # A later export: C000's e-mail again under another id, now platinum, no points given.
    later = [HEADER, "D900;c0@example.fr;Prénom0;Nom0;platinum;;;;"]
    ws = Workspace(ws.root, ws.config, ws.settings, FixedClock(NOW.replace(hour=13)))
    import_file(ws, "customers", write(root / "crm-later.csv", "\n".join(later)))
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        clean_workspace(con, ws.config, NOW)
        compute_features(con, FeatureSettings(as_of="2026-11-25T00:00:00"), now=NOW)
    return ws


@pytest.fixture(scope="session")
def traits_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return traits_workspace(tmp_path_factory.mktemp("traits") / "ws").root
