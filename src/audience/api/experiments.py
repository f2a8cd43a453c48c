"""``GET /v1/experiments/{name}/assignment?userId=…``: a person's variant, exposure recorded.

The variant is the one the live profile carries, decided by the function batch assignment
runs (:mod:`audience.model.bucketing`), so a person sees the same variant whichever path asks.
Asking is showing: an ``Experiment Viewed`` track event goes through the collector's queue
(and so the event log and the warehouse) with the ``messageId`` batch assignment gives the
same exposure, so the warehouse counts it once. The holdout is answered, not exposed.

Read with a *read* key, like profiles: the answer tells which segment a person is in.
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from audience.api.http_io import ERRORS, ErrorBody, collector, json_response
from audience.errors import RequestRejectedError, UnauthorizedError
from audience.model.bucketing import HOLDOUT
from audience.realtime.auth import basic_user, is_valid_key
from audience.realtime.events import iso, parse_single
from audience.realtime.input_checks import InputLimits
from audience.realtime.live_experiments import experiment_unit

EXPOSURE_EVENT = "Experiment Viewed"


class AssignmentBody(BaseModel):
    """A person's variant of an experiment."""

    experiment: str
    userId: str  # noqa: N815  (the Segment Spec's spelling)
    variant: str
    holdout: bool
    exposed: bool


class ExperimentNotFoundError(RequestRejectedError):
    """No running experiment has this name."""

    code = "unknown_experiment"
    status = 404


class NotInSegmentError(RequestRejectedError):
    """The person is not in the experiment's segment (or outside its namespace range)."""

    code = "not_in_experiment"
    status = 409


async def assignment_get(
    name: str,
    request: Request,
    userId: Annotated[str, Query(min_length=1, description="The person's user id.")],
) -> Response:
    """The variant of ``userId`` in experiment ``name``."""
    c = collector(request)
    if not is_valid_key(
        basic_user(request.headers.get("authorization")), c.settings.server.read_keys
    ):
        raise UnauthorizedError("missing or wrong read key; send it as the HTTP Basic user name")
    allocations = {a.name: a for a in c.consumer.engine.experiments}
    allocation = allocations.get(name)
    if allocation is None:
        raise ExperimentNotFoundError(
            f"no running experiment named '{name}'; running: "
            f"{', '.join(sorted(allocations)) or 'none'} (the server reads them at start)"
        )
    profile = await c.profile(userId)
    if profile is None or allocation.segment_id not in profile["segments"]:
        raise NotInSegmentError(
            f"user '{userId}' is not in segment {allocation.segment_id} of experiment "
            f"'{name}'; only its members are assigned"
        )
    unit = experiment_unit(profile)
    variant = profile.get("experiments", {}).get(name) or allocation.assign(unit)
    if variant is None:
        raise NotInSegmentError(
            f"user '{userId}' is outside experiment '{name}''s share of namespace "
            f"'{allocation.namespace}'"
        )
    exposed = variant != HOLDOUT
    if exposed:
        await c.accept([_exposure(c, name, unit, userId, variant)])
    body: dict[str, Any] = {
        "experiment": name,
        "userId": userId,
        "variant": variant,
        "holdout": not exposed,
        "exposed": exposed,
    }
    return json_response(body)


def _exposure(c: Any, name: str, unit: str, user_id: str, variant: str) -> Any:
    """The exposure as a track event, parsed like any the collector accepts."""
    now = c.now()
    raw = {
        "userId": user_id,
        "event": EXPOSURE_EVENT,
        "messageId": f"exp:{name}:{unit}",
        "timestamp": iso(now),
        "properties": {"experiment_id": name, "variation_id": variant},
        "context": {"library": {"name": "audience experiment assignment"}},
    }
    return parse_single(orjson.dumps(raw), "track", now, InputLimits.of(c.settings.server))


def router() -> APIRouter:
    routes = APIRouter(tags=["experiments"])
    routes.add_api_route(
        "/v1/experiments/{name}/assignment",
        assignment_get,
        methods=["GET"],
        operation_id="experiment_assignment_get",
        summary="Get a person's variant of an experiment and record her exposure",
        response_class=Response,
        responses={
            200: {"model": AssignmentBody, "description": "The variant (or the holdout)."},
            400: {**ERRORS[400], "description": "No userId, or a parameter that is not valid."},
            401: {"model": ErrorBody, "description": "Missing or wrong read key."},
            404: {"model": ErrorBody, "description": "No running experiment of that name."},
            409: {"model": ErrorBody, "description": "The person is not in its segment."},
            503: {**ERRORS[503], "description": "The exposure could not be queued: retry."},
        },
        openapi_extra={"security": [{"readKey": []}]},
    )
    return routes
