"""``GET /v1/experiments/{name}/assignment``: the batch variant, 404 / 409 / 401 refusals, and
the exposure recorded as an ``Experiment Viewed`` event through the queue."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from audience.api.app import create_app
from audience.config.settings import Settings
from audience.experiments.definitions import definition
from audience.experiments.registry import create_experiment
from audience.model.bucketing import HOLDOUT
from audience.pipelines.experiments import running_allocations
from audience.realtime.live_segments import PredicateEvaluator, PredicateRule
from audience.realtime.runtime import Collector, build_consumer, build_engine
from audience.store.workspace import Workspace
from tests.experiments.segment_data import NOW, make_workspace
from tests.realtime.conftest import READ_KEY, WRITE_KEY, basic
from tests.realtime.test_collector import settled


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """The experiments' small warehouse (:mod:`tests.experiments.segment_data`)."""
    return make_workspace(tmp_path / "ws")


VIP = PredicateRule("rule:VIP", lambda p: p["traits"].get("vip") is True, "vip trait")


def test_assignment_over_http(workspace: Workspace) -> None:
    with workspace.warehouse() as warehouse:
        experiment = create_experiment(
            warehouse.con, definition("web", "VIP", "control:50,b:50", holdout=20), NOW
        )
    allocation = experiment.allocation()
    users = [f"p{i}" for i in range(12)]
    expected = {u: allocation.assign(u) for u in users}
    assert HOLDOUT in expected.values() and len(set(expected.values())) == 3
    settings = Settings()
    engine = build_engine(workspace, PredicateEvaluator([VIP]))
    engine.experiments = running_allocations(workspace)
    assert [a.name for a in engine.experiments] == ["web"]
    collector = Collector(workspace, settings, build_consumer(workspace, settings, engine=engine))
    app = create_app(collector)

    async def main() -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                for user in [*users, "outsider"]:
                    await client.post(
                        "/v1/identify",
                        json={"userId": user, "traits": {"vip": user != "outsider"}},
                        headers=basic(WRITE_KEY),
                    )
                await settled(collector, len(users) + 1)
                read = basic(READ_KEY)
                answers = {
                    u: await client.get(f"/v1/experiments/web/assignment?userId={u}", headers=read)
                    for u in users
                }
                again = await client.get("/v1/experiments/web/assignment?userId=p0", headers=read)
                refused = [
                    await client.get("/v1/experiments/nope/assignment?userId=p0", headers=read),
                    await client.get(
                        "/v1/experiments/web/assignment?userId=outsider", headers=read
                    ),
                    await client.get(
                        "/v1/experiments/web/assignment?userId=p0", headers=basic(WRITE_KEY)
                    ),
                ]
                exposed = sum(1 for u in users if expected[u] != HOLDOUT)
                await settled(collector, len(users) + 1 + exposed + 1)
                profiles = {u: await collector.profile(u) for u in users}
                return answers, again, refused, profiles

    answers, again, refused, profiles = asyncio.run(main())
    for user, reply in answers.items():
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["variant"] == expected[user]
        assert body["holdout"] == (expected[user] == HOLDOUT)
        profile = profiles[user]
        assert profile is not None
        assert profile["experiments"] == {"web": expected[user]}  # the live profile agrees
        viewed = profile["counters"].get("Experiment Viewed", 0)
        assert viewed == (0 if expected[user] == HOLDOUT else 1)  # asked twice for p0: once
    assert again.json()["variant"] == expected["p0"]
    assert [r.status_code for r in refused] == [404, 409, 401]
    assert "no running experiment named 'nope'" in refused[0].json()["message"]
    assert "not in segment rule:VIP" in refused[1].json()["message"]
