"""One event's effect on the live profiles, decided without I/O: the consumer's brain.

A store reads what the event touches (its identities and their profiles), asks
:meth:`LiveEngine.plan` for the outcome, and writes the :class:`Plan` atomically with the
event's ``messageId`` and the segment changes, so that an event is applied exactly once.

Identity stitching follows the Segment Spec: ``identify`` with a ``userId`` and the
``anonymousId`` of an anonymous-only profile merges that profile into the user's; ``alias``
merges the ``previousId``'s profile into the ``userId``'s. An anonymous id already tied to
another known user (a shared device) is not a reason to merge two people.

Merge protection: the write key ships in every web page, so anyone may send
``alias {userId: attacker, previousId: victim}``. Under the merge policy ``refuse`` (the
default, ``AUDIENCE_PROFILES__MERGE_POLICY``) an alias whose ``previousId`` belongs to a
profile with a userId of its own is refused: :meth:`LiveEngine.plan` raises
:class:`~audience.errors.MergeRefusedError`, the store reports the event rejected and the
consumer dead-letters it with the reason ``merge_refused: …``; nothing is written. Aliasing an
anonymous-only profile is always allowed. Policy ``allow`` merges as the Segment Spec says.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from audience.errors import MergeRefusedError
from audience.model.bucketing import Allocation
from audience.model.live_records import Event, Membership, PersonState, Profile, SegmentChange
from audience.realtime.events import iso
from audience.realtime.live_experiments import carry_assignments
from audience.realtime.live_profile import ProfileRules, apply_event, merge, new_profile, view
from audience.realtime.live_segments import ModelAssigner, PredicateEvaluator, SegmentEvaluator
from audience.realtime.published import ClusterNames, merged_features, publish_into, sticky_segments
from audience.store.clock import SYSTEM_CLOCK, Clock

CLUSTER_PREFIX = "cluster:"
MergePolicy = Literal["refuse", "allow"]

log = logging.getLogger(__name__)


def identity_keys(event: Event) -> list[str]:
    """Identity keys an event names: ``user_id:<id>``, ``anonymous_id:<id>`` (+ previousId)."""
    keys = []
    if event.get("userId"):
        keys.append(f"user_id:{event['userId']}")
    if event.get("anonymousId"):
        keys.append(f"anonymous_id:{event['anonymousId']}")
    if event.get("type") == "alias" and event.get("previousId"):
        keys += [f"user_id:{event['previousId']}", f"anonymous_id:{event['previousId']}"]
    return list(dict.fromkeys(keys))


def lookup_keys(identifier: str) -> list[str]:
    """Identity keys ``GET /v1/profiles/{id}`` tries for an id given by a user."""
    if identifier.startswith(("user_id:", "anonymous_id:")):
        return [identifier]
    return [f"user_id:{identifier}", f"anonymous_id:{identifier}"]


@dataclass
class Plan:
    """What one event changes: the profile to write, those merged into it, the changes."""

    profile: Profile
    removed: list[str] = field(default_factory=list)
    identities: dict[str, str] = field(default_factory=dict)
    changes: list[SegmentChange] = field(default_factory=list)
    unchanged: bool = False
    """A publish of the state the profile already holds: nothing to write."""

    @property
    def profile_id(self) -> str:
        return str(self.profile["profile_id"])


class LiveEngine:
    """Applies events to profiles, then re-evaluates segments and the deployed model.

    Parameters
    ----------
    rules:
        Decay half-life and other workspace choices.
    evaluator:
        Rule segments (the rules' ``LiveEvaluator`` or a :class:`PredicateEvaluator`).
    assigner:
        The deployed clustering model, or None when none is deployed.
    clock:
        The server's or worker's clock: the time of every change and view.
    merge_policy:
        ``refuse``: an alias joining two profiles that each have a userId raises
        :class:`~audience.errors.MergeRefusedError`; ``allow``: it merges them.
    clusters:
        The deployed model's run and its segments' ids and names: a live assignment is a
        membership of the run's segment (``cluster:<label>`` when the run is not known).
    experiments:
        The running experiments: a profile in one's segment carries its variant.
    """

    def __init__(
        self,
        rules: ProfileRules | None = None,
        evaluator: SegmentEvaluator | None = None,
        assigner: ModelAssigner | None = None,
        clock: Clock = SYSTEM_CLOCK,
        merge_policy: MergePolicy = "refuse",
        clusters: ClusterNames | None = None,
        experiments: Sequence[Allocation] = (),
    ) -> None:
        self.rules = rules or ProfileRules()
        self.clock = clock
        self.evaluator: SegmentEvaluator = evaluator or PredicateEvaluator()
        self.assigner = assigner
        self.merge_policy = merge_policy
        self.clusters = clusters
        self.experiments: Sequence[Allocation] = experiments

    def now(self) -> datetime:
        """The clock's time, aware (profiles hold aware ISO times)."""
        return self.clock.now().replace(tzinfo=UTC)

    def target(self, event: Event, resolved: Mapping[str, str | None]) -> str:
        """The profile an event belongs to, before any merge."""
        if event.get("userId"):
            return resolved.get(f"user_id:{event['userId']}") or f"user_id:{event['userId']}"
        key = f"anonymous_id:{event['anonymousId']}"
        return resolved.get(key) or key

    def plan(
        self,
        event: Event,
        resolved: Mapping[str, str | None],
        profiles: Mapping[str, Profile | None],
        now: datetime,
        *,
        owned: bool = False,
    ) -> Plan:
        """The outcome of ``event``, given its identities (``resolved``) and their profiles.

        ``owned``: the target's profile belongs to the caller, which will not read it again
        (a fold's previous plan): it is updated in place rather than copied first."""
        target = self.target(event, resolved)
        current = profiles.get(target)
        if current is not None and owned:
            profile = current
        else:
            profile = new_profile(target) if current is None else _copy(current)
        before = dict(profile["segments"])
        plan = Plan(profile)
        for other_id in self._merged(event, resolved, profiles, target):
            other = profiles[other_id]
            assert other is not None
            merge(profile, other, self.rules)
            plan.removed.append(other_id)
            plan.changes += self._exits(other, now, event, f"merged into {target}")
        apply_event(profile, event, self.rules)
        # Only keys that do not already point here are written (all of them after a merge).
        identities = profile["identities"]
        for kind, values in (
            ("user_id", identities["user_id"]),
            ("anonymous_id", identities["anonymous_id"]),
        ):
            for value in values:
                key = f"{kind}:{value}"
                if plan.removed or (key in resolved and resolved[key] != target):
                    plan.identities[key] = target
        profile["segments"] = self._segments(profile, before, now)
        carry_assignments(profile, self.experiments)
        profile["updated_at"] = iso(now)
        plan.changes += self._diff(target, before, profile["segments"], event, now)
        if plan.changes:
            consents = self.consents_of(profile)
            for change in plan.changes:
                change["consents"] = consents
        return plan

    def plan_publish(
        self,
        state: PersonState,
        resolved: Mapping[str, str | None],
        profiles: Mapping[str, Profile | None],
        now: datetime,
    ) -> Plan:
        """The outcome of publishing a person's warehouse state (``audience publish``).

        The state goes into the profile one of its identities already resolves to (a new one
        keyed by its first identity otherwise); other live profiles of the same person, as
        the warehouse resolved her, are merged into it. Segment changes are computed but
        the stores do not queue them: batch activation delivers batch memberships.
        """
        keys = state["keys"]
        target = next((resolved[k] for k in keys if resolved.get(k)), None) or keys[0]
        current = profiles.get(target)
        others = list(dict.fromkeys(p for k in keys if (p := resolved.get(k)) and p != target))
        published = current.get("published") if current else None
        if not others and published is not None and published["hash"] == state["hash"]:
            return Plan(_copy(current), unchanged=True) if current else Plan(new_profile(target))
        profile = new_profile(target) if current is None else _copy(current)
        before = dict(profile["segments"])
        plan = Plan(profile)
        for other_id in others:
            other = profiles.get(other_id)
            if other is not None:
                merge(profile, other, self.rules)
                plan.removed.append(other_id)
        publish_into(profile, state, now, self.rules)
        for key in keys:
            if resolved.get(key) != target:
                plan.identities[key] = target
        for kind in ("user_id", "anonymous_id"):
            for value in profile["identities"][kind]:
                key = f"{kind}:{value}"
                if plan.removed and key not in plan.identities:
                    plan.identities[key] = target
        profile["segments"] = self._segments(profile, before, now)
        carry_assignments(profile, self.experiments)
        profile["updated_at"] = iso(now)
        plan.changes = self._diff(
            target, before, profile["segments"], _publish_event(state, now), now
        )
        return plan

    def view(self, profile: Profile, now: datetime) -> Profile:
        """The profile as of ``now``, its features merged with the published ones."""
        current = view(profile, now, self.rules)
        current["features"] = merged_features(current, now, self.rules, current["features"])
        published = current.get("published")
        if published:
            current["scores"] = dict(published["scores"])
            current["features"] = {
                **{k: v for k, v in published["scores"].items() if isinstance(v, int | float)},
                **current["features"],
            }
        return current

    def _merged(
        self,
        event: Event,
        resolved: Mapping[str, str | None],
        profiles: Mapping[str, Profile | None],
        target: str,
    ) -> list[str]:
        if not event.get("userId"):
            return []
        found: list[str] = []
        anonymous = resolved.get(f"anonymous_id:{event.get('anonymousId')}")
        if anonymous and anonymous != target:
            other = profiles.get(anonymous)
            if other is not None and not other["identities"]["user_id"]:
                found.append(anonymous)
        if event.get("type") == "alias":
            previous = event.get("previousId")
            for key in (f"user_id:{previous}", f"anonymous_id:{previous}"):
                pid = resolved.get(key)
                other = profiles.get(pid) if pid else None
                if pid and other and pid != target and pid not in found:
                    self._check_merge(event, other, target)
                    found.append(pid)
        return found

    def _check_merge(self, event: Event, other: Profile, target: str) -> None:
        """Refuse (policy ``refuse``) to merge a profile that has a userId of its own."""
        users = other["identities"]["user_id"]
        if not users or self.merge_policy == "allow":
            return
        reason = (
            f"merge_refused: alias {event['messageId']} would merge profile "
            f"{other['profile_id']} (userId {', '.join(map(str, users))}) into {target} "
            f"(userId {event['userId']}); both are known users. Policy 'refuse' "
            "(AUDIENCE_PROFILES__MERGE_POLICY=allow merges them)"
        )
        log.warning("%s", reason)
        raise MergeRefusedError(reason)

    def _segments(
        self, profile: Profile, before: Mapping[str, Membership], now: datetime
    ) -> dict[str, Membership]:
        current = self.view(profile, now)
        inside = dict(self.evaluator.evaluate(current, now))
        if self.assigner is not None:
            label = int(self.assigner.predict_one(current.get("features", {})))
            named = self.clusters.segments.get(label) if self.clusters else None
            sid, name = named or (f"{CLUSTER_PREFIX}{label}", None)
            inside[sid] = {"model": "deployed clustering", "label": label, "name": name}
        evaluated = getattr(self.evaluator, "segment_ids", None)
        inside = sticky_segments(profile, inside, evaluated, self.clusters)
        stamp = iso(now)
        return {
            sid: {"since": before[sid]["since"] if sid in before else stamp, "why": why}
            for sid, why in inside.items()
        }

    def _diff(
        self,
        profile_id: str,
        before: Mapping[str, Membership],
        after: Mapping[str, Membership],
        event: Event,
        now: datetime,
    ) -> list[SegmentChange]:
        changes = [
            _change("segment.entered", profile_id, sid, after[sid]["why"], event, now)
            for sid in after
            if sid not in before
        ]
        changes += [
            _change("segment.exited", profile_id, sid, "no longer matches", event, now)
            for sid in before
            if sid not in after
        ]
        return changes

    def consents_of(self, profile: Profile) -> dict[str, str]:
        """Current status per purpose, carried by each change so destinations can check it."""
        return {p: str(c["status"]) for p, c in profile["consents"].items()}

    def _exits(self, other: Profile, now: datetime, event: Event, why: str) -> list[SegmentChange]:
        pid = str(other["profile_id"])
        return [_change("segment.exited", pid, sid, why, event, now) for sid in other["segments"]]


def _change(
    kind: Literal["segment.entered", "segment.exited"],
    profile_id: str,
    segment_id: str,
    why: Any,
    event: Event,
    now: datetime,
) -> SegmentChange:
    """A segment change; its id is stable, so a destination can drop a second delivery."""
    return {
        "id": f"{event['messageId']}:{profile_id}:{segment_id}:{kind}",
        "type": kind,
        "profile_id": profile_id,
        "segment_id": segment_id,
        "why": why,
        "at": iso(now),
        "message_id": event["messageId"],
        "received_at": event.get("receivedAt"),
    }


def _publish_event(state: PersonState, now: datetime) -> Event:
    """What a change caused by a publish names as its cause (its id is stable per state)."""
    return {
        "type": "identify",
        "messageId": f"publish:{state['customer_id']}:{state['hash']}",
        "timestamp": iso(now),
        "receivedAt": iso(now),
    }


def _copy(profile: Profile) -> Profile:
    """A deep enough copy: every nested container the engine mutates is fresh."""
    out: dict[str, Any] = dict(profile)
    for key, value in profile.items():
        if isinstance(value, dict):
            out[key] = {k: (list(v) if isinstance(v, list) else v) for k, v in value.items()}
        elif isinstance(value, list):
            out[key] = list(value)
    return cast(Profile, out)
