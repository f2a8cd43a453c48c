"""Profiling consent, when audience.yaml requires it: model-based segments and predictive
scores leave out whoever has not granted ``profiling``; without the setting nothing changes."""

from __future__ import annotations

from audience.pipelines.segment_run import run_segmentation
from audience.privacy.consent import set_consent
from audience.privacy.profiling import withhold_scores
from audience.store.clock import FixedClock
from audience.store.workspace import Workspace
from tests.privacy.conftest import NOW


def test_model_segments_and_scores_need_profiling_consent(cleaned: Workspace) -> None:
    with cleaned.warehouse() as warehouse, warehouse.transaction() as con:
        rows = con.execute("SELECT customer_id FROM features ORDER BY 1").fetchall()
        people = [str(p) for (p,) in rows]
        granted, refused = people[::2], people[1::2]
        for person in granted:
            set_consent(con, person, "profiling", "granted", at=NOW)
        set_consent(con, refused[0], "profiling", "withdrawn", at=NOW)
        config = cleaned.config.model_copy(deep=True)
        config.privacy.profiling_consent = "required"
        run = run_segmentation(con, config, k=3, method="kmeans", clock=FixedClock(NOW))
        members = {
            str(c)
            for (c,) in con.execute(
                "SELECT customer_id FROM memberships WHERE run_id = ?", [run.run_id]
            ).fetchall()
        }
        assert members == set(granted)  # every consenting person, and only them

        unrestricted = run_segmentation(
            con, cleaned.config, k=3, method="kmeans", clock=FixedClock(NOW).advance(seconds=1)
        )
        assert unrestricted.n_customers == len(people)

        con.execute(
            """INSERT INTO predictions (run_id, customer_id, kind, churn_probability)
               SELECT 'churn-1', customer_id, 'churn', 0.5 FROM features"""
        )
        assert withhold_scores(con, "churn-1") == len(refused)
        left = con.execute("SELECT count(*) FROM predictions WHERE run_id = 'churn-1'").fetchall()
        assert left == [(len(granted),)]
