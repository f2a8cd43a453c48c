"""``GET /v1/profiles/{id}``: a live profile with its segments and why it is in each.

Profiles are personal data, so they are read with a *read* key, never with a write key
(write keys ship inside web pages and apps).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from audience.api.http_io import ERRORS, collector, json_response
from audience.errors import RequestRejectedError, UnauthorizedError
from audience.realtime.auth import basic_user, is_valid_key


class Membership(BaseModel):
    """A segment the profile is in, since when, and why."""

    segment_id: str
    since: str
    why: Any


class ProfileBody(BaseModel):
    """A live profile as of now (see :mod:`audience.realtime.live_profile`)."""

    profile_id: str
    segments: list[Membership]
    profile: dict[str, Any]


async def profile_get(profile_id: str, request: Request) -> Response:
    """The profile a user id, anonymous id or profile id belongs to."""
    c = collector(request)
    if not is_valid_key(
        basic_user(request.headers.get("authorization")), c.settings.server.read_keys
    ):
        raise UnauthorizedError("missing or wrong read key; send it as the HTTP Basic user name")
    profile = await c.profile(profile_id)
    if profile is None:
        raise ProfileNotFoundError(
            f"no live profile for '{profile_id}'; send an event for it first"
        )
    segments = [
        {"segment_id": sid, "since": m["since"], "why": m["why"]}
        for sid, m in profile["segments"].items()
    ]
    return json_response(
        {"profile_id": profile["profile_id"], "segments": segments, "profile": profile}
    )


class ProfileNotFoundError(RequestRejectedError):
    """No profile has this identifier."""

    code = "profile_not_found"
    status = 404


def router() -> APIRouter:
    routes = APIRouter(tags=["profiles"])
    routes.add_api_route(
        "/v1/profiles/{profile_id}",
        profile_get,
        methods=["GET"],
        operation_id="profile_get",
        summary="Get a live profile with its segments and their why",
        response_class=Response,
        responses={
            200: {"model": ProfileBody, "description": "The profile as of now."},
            401: {**ERRORS[401], "description": "Missing or wrong read key."},
            404: {**ERRORS[400], "description": "No profile for this id (profile_not_found)."},
            503: {**ERRORS[503], "description": "The profile store does not answer: retry."},
        },
        openapi_extra={"security": [{"readKey": []}]},
    )
    return routes
