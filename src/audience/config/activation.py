"""The ``activation`` section of ``audience.yaml``: segments, groups, destinations, workflows.

The models check structure (keys, types, bounds). What needs the field catalogue or the whole
set of definitions -- condition trees, references between segments, cycles, workflows naming
known segments and destinations -- is checked by :mod:`audience.rules.loading`, which also
knows the line each value was written on.

Example::

    activation:
      segments:
        - name: vip
          when: {all: [{field: monetary, gte: 500}, {field: recency_days, lt: 60}]}
      groups:
        - {name: lifecycle, exclusive: true, segments: [vip, lapsing]}   # vip wins
      destinations:
        - {name: crm-hook, type: webhook, purpose: email,
           url: "https://hooks.example.com/audience", secret_env: CRM_HOOK_SECRET}
        - {name: hubspot, type: hubspot, purpose: email}
      workflows:
        - {segment: vip, destination: crm-hook, channel: email, template: vip-welcome}
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Purpose = Literal["email", "sms", "push", "advertising", "profiling", "analytics"]
PURPOSES: tuple[str, ...] = Purpose.__args__  # type: ignore[attr-defined]
Network = Literal["loopback", "private"]

NAME_PATTERN = r"^[^\s:][^:]{0,99}$"
"""A segment or destination name: no colon (ids are ``rule:<name>``), at most 100 characters."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SegmentSpec(_Strict):
    """A rule segment as written; ``when`` is validated against the field catalogue later."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    when: dict[str, Any] = Field(description="The condition tree (all / any / not / leaves).")
    holdout: float = Field(
        default=0.0,
        ge=0.0,
        lt=100.0,
        description="Percent of the members kept from activation to measure the segment's "
        "lift ('audience lift'); '5%' or 5.",
    )
    holdout_window_days: int = Field(
        default=30, ge=1, description="Days after entering over which 'audience lift' counts."
    )

    @field_validator("holdout", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().removesuffix("%").strip()
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"holdout {value!r} is not a percent; write e.g. 5%") from None
        return value


class GroupSpec(_Strict):
    """Segments sharing a group; in an exclusive group a person gets the first that matches."""

    name: str = Field(pattern=NAME_PATTERN)
    exclusive: bool = True
    segments: list[str] = Field(
        min_length=1, description="Rule segment names, highest priority first."
    )


class _Destination(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    purpose: Purpose = Field(
        description="Consent purpose a person must currently grant to be sent or exported."
    )

    @model_validator(mode="before")
    @classmethod
    def _purpose_declared(cls, data: Any) -> Any:
        if isinstance(data, dict) and "purpose" not in data:
            raise ValueError(
                f"destination {data.get('name', '?')!r} declares no purpose; add "
                f"purpose: one of {', '.join(PURPOSES)}"
            )
        return data


class WebhookDestination(_Destination):
    """Standard Webhooks endpoint receiving ``segment.entered`` / ``segment.exited``."""

    type: Literal["webhook"]
    url: str
    secret: str | None = Field(default=None, description="whsec_... (prefer secret_env).")
    secret_env: str | None = Field(default=None, description="Environment variable of the secret.")
    timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=5, ge=1, le=20, description="Tries before dead-letter.")
    backoff_seconds: float = Field(default=1.0, ge=0, description="First retry delay.")
    backoff_max_seconds: float = Field(default=300.0, ge=0)
    concurrency: int = Field(default=8, ge=1, le=64, description="Requests in flight at once.")
    allow_networks: list[Network] = Field(
        default_factory=list,
        description="Address ranges the URL may resolve to besides public ones (SSRF guard).",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"url {value!r} must be an http:// or https:// URL with a host")
        return value

    @field_validator("secret")
    @classmethod
    def _whsec(cls, value: str | None) -> str | None:
        if value is not None:
            check_secret(value)
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookDestination:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError(f"destination {self.name!r} needs exactly one of secret, secret_env")
        return self


class FileDestination(_Destination):
    """A file export: plain CSV or JSON, a marketing tool's contact-import CSV, or an
    advertising audience of SHA-256 hashed e-mails and phones (Google Customer Match, Meta
    custom audience)."""

    type: Literal["csv", "json", "hubspot", "sfmc", "google_customer_match", "meta_audience"]
    path: str = Field(
        default="exports/{destination}/{segment}-{timestamp}.{ext}",
        description="Relative to the workspace; {destination} {segment} {timestamp} {ext}.",
    )


Destination = Annotated[WebhookDestination | FileDestination, Field(discriminator="type")]


class WorkflowSpec(_Strict):
    """What to do with a segment: where its members go and with what campaign data."""

    segment: str
    destination: str
    channel: str | None = Field(default=None, description="email, sms, push, ads...")
    template: str | None = None
    campaign: str | None = None
    fields: list[str] = Field(
        default_factory=lambda: ["email", "first_name", "last_name"],
        description="Profile fields sent with each member (catalogue names).",
    )


class ActivationSettings(_Strict):
    """Everything ``activation:`` holds in ``audience.yaml``."""

    segments: list[SegmentSpec] = Field(default_factory=list)
    segments_dir: str = Field(
        default="segments", description="Workspace folder of further segments/*.yaml files."
    )
    groups: list[GroupSpec] = Field(default_factory=list)
    destinations: list[Destination] = Field(default_factory=list)
    workflows: list[WorkflowSpec] = Field(default_factory=list)


def check_secret(value: str) -> bytes:
    """The key bytes of a ``whsec_`` secret; ValueError when it is not one."""
    if not value.startswith("whsec_"):
        raise ValueError("a webhook secret must start with 'whsec_' (Standard Webhooks)")
    try:
        key = base64.b64decode(value.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a webhook secret must be 'whsec_' followed by base64") from exc
    if len(key) < 24:
        raise ValueError("a webhook secret must hold at least 24 random bytes")
    return key
