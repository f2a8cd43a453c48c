"""Zero and negative amounts: free purchases count, returns do not, spend sees neither."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from audience.ingest.importer import import_file
from audience.predictive.clv import ClvOptions, run_clv
from audience.predictive.purchases import PurchaseSummary, customer_summary
from audience.store.clock import SYSTEM_CLOCK
from audience.store.workspace import Workspace
from tests.conftest import write

MAPPING = ["ordered_at=date", "amount=amount"]


def _summary(ws: Workspace) -> PurchaseSummary:
    with ws.warehouse(read_only=True) as warehouse:
        return customer_summary(warehouse.con, ws.config.timezone, "week")


def _row(summary: PurchaseSummary, customer: str) -> int:
    return summary.customer_ids.to_pylist().index(customer)


def test_free_purchases_count_returns_do_not_and_spend_leaves_both_out(
    cdnow_copy: Workspace, tmp_path: Path
) -> None:
    before = _summary(cdnow_copy)
    spenders = before.customer_ids.filter(before.spend_frequency > 0).to_pylist()
    a, b = spenders[:2]
    # a gets a free repeat purchase, b a return, and Z1 a free first (and only) purchase.
    extra = write(
        tmp_path / "extra.csv",
        "customer_id,date,quantity,amount\n"
        f"{a},1998-03-03,1,0.00\n"
        f"{b},1998-04-01,-1,-12.50\n"  # a return: negative quantity
        "Z1,1997-05-05,1,0.00\n",
    )
    import_file(cdnow_copy, "orders", extra, MAPPING, one_order_per_line=True)
    after = _summary(cdnow_copy)

    free, back = _row(before, a), _row(before, b)
    assert after.frequency[_row(after, a)] == before.frequency[free] + 1
    assert after.spend_frequency[_row(after, a)] == before.spend_frequency[free]
    assert after.mean_spend[_row(after, a)] == before.mean_spend[free]
    assert after.frequency[_row(after, b)] == before.frequency[back]
    assert after.mean_spend[_row(after, b)] == before.mean_spend[back]
    assert after.frequency[_row(after, "Z1")] == 0  # a free first purchase still makes a buyer
    assert len(after) == len(before) + 1
    assert after.amounts.free_repeat_days == before.amounts.free_repeat_days + 1
    assert after.amounts.return_days == before.amounts.return_days + 1 == 1
    assert np.all(after.mean_spend[after.spend_frequency > 0] > 0)

    with cdnow_copy.warehouse() as warehouse, warehouse.transaction() as con:
        run = run_clv(con, cdnow_copy.config, ClvOptions(), SYSTEM_CLOCK.now())
        scored = con.execute(
            "SELECT count(*) FROM predictions WHERE run_id = ? AND clv > 0", [run.run_id]
        ).fetchall()[0][0]
    assert run.population == scored == len(after)
    assert "persons" in run.population_definition
    warnings = " ".join(run.warnings)
    assert f"{after.amounts.free_repeat_days} repeat purchase day(s)" in warnings
    assert "left out of the spend model" in warnings
    assert "1 customer-day(s) of 1 customer(s) have a negative total (returns)" in warnings
    assert "deprecated" not in warnings


def test_the_old_setting_is_read_but_only_warns(cdnow_copy: Workspace) -> None:
    path = cdnow_copy.root / "audience.yaml"
    document = yaml.safe_load(path.read_text())
    document.setdefault("predictive", {})["drop_nonpositive_amounts"] = True
    path.write_text(yaml.safe_dump(document))
    ws = Workspace.open(cdnow_copy.root)
    assert "drop_nonpositive_amounts" not in ws.config.model_dump()["predictive"]
    with ws.warehouse() as warehouse, warehouse.transaction() as con:
        run = run_clv(con, ws.config, ClvOptions(), SYSTEM_CLOCK.now())
    assert any("drop_nonpositive_amounts is deprecated" in w for w in run.warnings)
    assert run.population == len(_summary(ws))
