"""The live path, composed: rule segments, the deployed model and webhooks on every event.

:class:`RuleSegments` shows :class:`~audience.rules.live_evaluator.LiveEvaluator` a live profile
the way the batch engine sees a person (flat catalogue names: traits, features,
``last_order_at``, ``first_seen_at``, the counted ``events`` and current ``segments``), so that
one compiled definition decides both paths. :class:`WebhookChanges` delivers the consumer's
``segment.entered`` / ``segment.exited`` through the configured webhooks, only to people
whose live consent grants the destination's purpose, and appends every outcome to a log that
``audience sync`` records in the warehouse (the worker never writes the warehouse).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from audience.config.settings import Settings
from audience.errors import AudienceError
from audience.model.activation_plan import ActivationPlan
from audience.pipelines.experiments import running_allocations
from audience.pipelines.live_deliveries import WebhookChanges, deliveries_dir
from audience.realtime.consumer import Consumer
from audience.realtime.eventlog import events_dir
from audience.realtime.live_segments import ChangeSink, JsonlChangeSink, ModelAssigner
from audience.realtime.published import ClusterNames
from audience.realtime.queue.embedded import hold_consumer_lock
from audience.realtime.rebuild import RebuildReport, new_claim, rebuild
from audience.realtime.runtime import build_consumer, build_engine, changes_path, queue_path
from audience.rules.live_evaluator import LiveEvaluator
from audience.rules.loading import load_activation
from audience.store.workspace import Workspace

log = logging.getLogger(__name__)


def live_fields(view: Mapping[str, Any]) -> dict[str, Any]:
    """A profile view (:func:`audience.realtime.live_profile.view`) under batch field names."""
    flat: dict[str, Any] = {**view.get("traits", {}), **view.get("features", {})}
    flat["last_order_at"] = view["rfm"]["last_order_at"]
    flat["first_seen_at"] = view.get("first_seen")
    flat["events"] = view.get("recent", [])
    flat["segments"] = list(view.get("segments", {}))
    flat["traits"] = view.get("traits", {})  # custom traits: rules read traits.<name> here
    return flat


class RuleSegments:
    """A :class:`~audience.realtime.live_segments.SegmentEvaluator` running the rule segments."""

    def __init__(self, evaluator: LiveEvaluator) -> None:
        self.evaluator = evaluator
        self.segment_ids = frozenset(d.segment_id for d in evaluator.rules.definitions)

    def evaluate(self, profile: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        traces = self.evaluator.evaluate(live_fields(profile), now)
        return {segment: trace.to_dict() for segment, trace in traces.items()}


def rule_segments(plan: ActivationPlan) -> RuleSegments | None:
    """The plan's rule segments for the live path, or None when it defines none."""
    return RuleSegments(LiveEvaluator(plan)) if plan.definitions else None


class FanOut:
    """A sink that hands each change to several sinks in turn."""

    def __init__(self, *sinks: Any) -> None:
        self.sinks = sinks

    async def emit(self, change: Mapping[str, Any]) -> None:
        for sink in self.sinks:
            await sink.emit(change)


def load_assigner(workspace: Workspace) -> ModelAssigner | None:
    """The deployed clustering model (the champion saved as a SegmentAssigner), if any."""
    return load_deployed(workspace)[0]


def load_deployed(workspace: Workspace) -> tuple[ModelAssigner | None, ClusterNames | None]:
    """The deployed clustering model, if any, with its run's segment ids and names.

    The deployed model is the champion: ``models:/audience-segments@champion`` when MLflow
    is configured and holds the alias, else the warehouse's champion, else the latest
    clustering run (:func:`audience.pipelines.mlops.champion_assigner`). Read once at start,
    the warehouse opened read-only; a warehouse busy with a batch command, a tracking server
    down or a run saved in an older form leaves the live path without a model, said in the
    log, rather than not starting.
    """
    try:
        from audience.pipelines.mlops import champion_assigner  # slow: only when needed

        with workspace.warehouse(read_only=True) as warehouse:
            found = champion_assigner(workspace, warehouse.con)
            if found is None:
                return None, None
            assigner, run_id = found
            named = warehouse.con.execute(
                "SELECT label, segment_id, name FROM segments WHERE run_id = ?", [run_id]
            ).fetchall()
        names = ClusterNames(run_id, {int(lb): (str(s), str(n)) for lb, s, n in named})
        return assigner, names
    except (ImportError, AudienceError, KeyError, ValueError) as exc:
        log.warning("no deployed clustering model for the live path: %s", exc)
    return None, None


def live_consumer(ws: Workspace, settings: Settings) -> Consumer:
    """The consumer with the workspace's rule segments, deployed model and destinations, and
    the settings' merge policy."""
    plan = load_activation(ws.root)
    assigner, clusters = load_deployed(ws)
    engine = build_engine(ws, rule_segments(plan), assigner)
    engine.merge_policy = settings.profiles.merge_policy
    engine.clusters = clusters
    engine.experiments = running_allocations(ws)
    return build_consumer(ws, settings, engine=engine, sink=live_sink(ws, plan))


def live_sink(ws: Workspace, plan: ActivationPlan) -> ChangeSink:
    """Changes go to the changes log and, when workflows are configured, to their webhooks."""
    log = JsonlChangeSink(changes_path(ws), ws.clock)
    if not plan.workflows:
        return log
    return FanOut(log, WebhookChanges(plan, deliveries_dir(ws)))


async def rebuild_live_profiles(ws: Workspace, settings: Settings) -> RebuildReport:
    """``audience publish --rebuild``: live profiles rebuilt from the event log.

    Built with the same engine as the live consumer (rule segments, deployed model). Running
    consumers see the generation marker say "rebuilding" and wait; the embedded queue's
    consumer must not run at all (its lock is taken, or this refuses).
    """
    consumer = live_consumer(ws, settings)
    lock = None if settings.queue.url else hold_consumer_lock(queue_path(ws))
    try:
        await consumer.store.start()
        claim = new_claim()
        await consumer.store.set_generation(claim)
        try:
            return await rebuild(consumer.store, consumer.engine, events_dir(ws))
        except BaseException:  # consumers would wait for ever on a claim no one holds
            with contextlib.suppress(Exception):
                await consumer.store.release_generation(claim)
            raise
    finally:
        await consumer.store.close()
        if lock is not None:
            lock.close()
