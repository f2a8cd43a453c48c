"""Runtime settings, the one settings module: where things run, read from the environment.

What a *deployment* decides (service addresses, secrets, resource limits) lives here and is
read from environment variables ``AUDIENCE_<SECTION>__<KEY>``. What an *analysis* decides
(objective, KPIs, column mappings, segmentation) lives in the workspace's ``audience.yaml``
(:mod:`audience.config`), so that it can be versioned with the project.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict

from audience.config.engine import Engine, SparkSettings
from audience.errors import ConfigError
from audience.masking import url_secrets

DEV_WRITE_KEY = "dev-write-key"
"""The write key a development server accepts when none is configured; refused outside dev."""
DEV_READ_KEY = "dev-read-key"
"""The read key (profiles API) of a development server; refused outside dev."""
DEV_ADMIN_KEY = "dev-admin-key"
"""The admin key (privacy regulations API) of a development server; refused outside dev."""
MIN_KEY_LENGTH = 16
"""Shortest write or read key a server accepts outside a loopback dev server."""

KB = 1024


class QueueSettings(BaseModel):
    """Where accepted events wait for the consumer."""

    url: str | None = Field(
        default=None,
        description="RabbitMQ URL (amqp://user:pass@host:5672/vhost) or Kafka bootstrap "
        "servers (kafka://host:9092[,host2:9092]). Unset: an embedded durable queue in the "
        "workspace, so that a server runs with no broker at all.",
    )
    name: str = Field(
        default="audience.events",
        description="Quorum queue of accepted events; its dead letters go to '<name>.dead'.",
    )
    prefetch: int = Field(
        default=64, ge=1, description="Messages a consumer holds unacknowledged at once."
    )
    handler_retries: int = Field(
        default=3,
        ge=1,
        description="Crashes of the consumer's code on one message after which that message "
        "is dead-lettered with the error as its reason. Retryable failures (a store down) "
        "never count: consumption pauses and the same messages are tried again.",
    )
    delivery_limit: int = Field(
        default=50,
        ge=1,
        description="RabbitMQ's last resort (x-delivery-limit): deliveries after which it "
        "dead-letters a message that keeps killing consumer processes. High, because a "
        "worker killed or restarted returns its unacknowledged messages, and that counts.",
    )
    publish_timeout: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a request waits for the broker's confirm before answering 503, "
        "so that a client retries instead of hanging while the broker restarts.",
    )
    max_message_events: int = Field(
        default=2000,
        ge=1,
        description="Most events the collector coalesces into one queue message when "
        "concurrent requests arrive together (one confirm then covers them all).",
    )
    buffer_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=1,
        description="Most bytes of accepted events a collector process holds while the queue "
        "has not yet confirmed them; a request that would pass it is answered 429 with "
        "Retry-After (back-pressure: a slow broker slows the clients, memory stays bounded). "
        "Keep it well above server.max_batch_bytes, or a lone batch can never pass.",
    )
    shards: int = Field(
        default=1,
        ge=1,
        description="RabbitMQ: queues the events are spread over by a hash of the person, "
        "'<name>.0' to '<name>.<shards-1>' (1: the one queue '<name>'). Each shard queue has "
        "a single active consumer, so one person's events are applied in order; 'audience "
        "worker --concurrency N' gives each of its N processes its own shards.",
    )
    partitions: int = Field(
        default=12,
        ge=1,
        description="Kafka: partitions of the topic when Audience creates it. Events are keyed "
        "by person, so one person's events stay in order on one partition; workers of one "
        "group share the partitions, so more partitions allow more workers.",
    )
    group: str | None = Field(
        default=None,
        description="Kafka: the consumer group of 'audience worker' processes (default "
        "'<name>.workers'); workers of one group share the topic's partitions.",
    )
    kafka_options: dict[str, str] = Field(
        default_factory=dict,
        description="Kafka: extra librdkafka properties for producer, consumer and admin "
        'client, e.g. {"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN", '
        '"sasl.username": "...", "sasl.password": "..."} for a managed Kafka.',
    )
    warehouse_load_seconds: float = Field(
        default=5.0,
        ge=0,
        description="While 'audience serve' (embedded consumer) or 'audience worker' runs, "
        "the events it logged are loaded into the warehouse every this many seconds "
        "(idempotent on messageId; retried later while another command holds the "
        "warehouse). 0 disables: load them with 'audience sync'.",
    )


class ProfileStoreSettings(BaseModel):
    """Where live profiles are kept."""

    url: str | None = Field(
        default=None,
        description="Redis URL (redis://host:6379/0). Unset: an embedded SQLite store (WAL) "
        "in the workspace.",
    )
    prefix: str = Field(
        default="audience",
        description="Prefix of every Redis key, so that several workspaces share one Redis.",
    )
    dedupe_days: float = Field(
        default=30.0,
        gt=0,
        description="How long a processed messageId is remembered: a copy resent later than "
        "this counts again (Segment's own de-duplication window is shorter).",
    )
    merge_policy: Literal["refuse", "allow"] = Field(
        default="refuse",
        description="An alias joining two profiles that each have a userId: 'refuse' "
        "dead-letters the event (reason merge_refused), since anyone holding the public write "
        "key could otherwise pull a victim's traits into their own profile; 'allow' merges as "
        "the Segment Spec says. Anonymous-only profiles always merge into the user's.",
    )


class WebhookSource(BaseModel):
    """An inbound webhook source (a CRM...), how it signs and how its payload maps to events.

    Paths are dotted keys into the JSON payload (``contact.id``); a value starting with
    ``=`` is a constant (``=Contact Updated``).
    """

    model_config = ConfigDict(hide_input_in_errors=True)  # the secret is refused, not shown

    secret: str = Field(description="Shared HMAC-SHA256 secret; 'whsec_' base64 or plain text.")
    scheme: Literal["standard", "hex"] = Field(
        default="standard",
        description="'standard': Standard Webhooks headers (webhook-id, webhook-timestamp, "
        "webhook-signature: v1,<base64>); 'hex': one header holding the hex HMAC of the body, "
        "optionally prefixed 'sha256='.",
    )
    signature_header: str = Field(
        default="x-signature", description="Header holding the signature, for scheme 'hex'."
    )
    tolerance_seconds: int = Field(
        default=300, ge=1, description="Largest clock difference accepted (scheme 'standard')."
    )
    items: str | None = Field(
        default=None, description="Path of a list of items, each one event; unset: one event."
    )
    type: Literal["identify", "track"] = "identify"
    event: str | None = Field(default=None, description="Path or =constant of a track's name.")
    user_id: str | None = Field(default=None, description="Path of the user id.")
    anonymous_id: str | None = Field(default=None, description="Path of the anonymous id.")
    message_id: str | None = Field(
        default=None,
        description="Path of a unique id; unset: derived from the item, so a resent webhook "
        "changes nothing.",
    )
    timestamp: str | None = Field(default=None, description="Path of the time of the change.")
    traits: dict[str, str] = Field(default_factory=dict, description="trait -> path.")
    properties: dict[str, str] = Field(default_factory=dict, description="property -> path.")

    @field_validator("secret")
    @classmethod
    def _secret_is_usable(cls, secret: str) -> str:
        """A ``whsec_`` secret must be base64, or every request to the source would fail."""
        if secret.startswith("whsec_"):
            try:
                key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
            except (binascii.Error, ValueError):
                key = b""
            if not key:
                # The message never repeats the secret: errors are printed and logged.
                raise PydanticCustomError(
                    "webhook_secret",
                    "this webhook source's secret starts with 'whsec_' but what follows is not "
                    "base64; copy the whole secret the sending tool shows (Standard Webhooks), "
                    "or give a plain secret without the 'whsec_' prefix",
                )
        return secret


class ServerSettings(BaseModel):
    """The collector's HTTP server."""

    environment: Literal["dev", "test", "prod"] = Field(
        default="dev",
        description="Outside 'dev', and in 'dev' on an address other than loopback, the server "
        "refuses blank, short (under 16 characters), default and shared write/read keys.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server binds.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port the server binds.")
    workers: int = Field(
        default=1,
        ge=1,
        description="Server processes (RabbitMQ mode only: the embedded queue has one writer).",
    )
    write_keys: list[str] = Field(
        default_factory=lambda: [DEV_WRITE_KEY],
        description="Accepted write keys (HTTP Basic user name, as Segment clients send it); "
        "16 characters or more, unless a dev server on loopback.",
    )
    read_keys: list[str] = Field(
        default_factory=lambda: [DEV_READ_KEY],
        description="Keys that may read profiles (GET /v1/profiles/{id}); 16 characters or "
        "more unless a dev server on loopback, and never a write key: write keys ship inside "
        "web pages and apps and so are not secrets. Empty: nobody reads profiles.",
    )
    admin_keys: list[str] = Field(
        default_factory=lambda: [DEV_ADMIN_KEY],
        description="Administrators' keys: privacy regulations (POST /v1/privacy/regulations: "
        "erasure, suppression) and dashboard actions (/ui: quarantine retry and discard), as "
        "HTTP Basic user name, Bearer token or on the login page. 16 characters or more unless "
        "a dev server on loopback, and never a write or read key. Empty: nobody administers.",
    )
    session_secret: str | None = Field(
        default=None,
        description="Signs the dashboard's login cookie; unset: derived from the read and admin "
        "keys, so that changing a key ends the sessions it opened.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, description="How long a dashboard login lasts before asking again."
    )
    max_event_bytes: int = Field(default=32 * KB, ge=1, description="Largest event (Segment).")
    max_batch_bytes: int = Field(default=500 * KB, ge=1, description="Largest batch request.")
    max_json_depth: int = Field(
        default=64,
        ge=4,
        le=128,
        description="Deepest nesting of objects and arrays a request body may have (the body "
        "itself is level 1); deeper is refused with 400. Stored JSON allows 254 levels at "
        "most, and a profile wraps an event's properties in a few levels of its own.",
    )
    timestamp_floor: datetime = Field(
        default=datetime(1970, 1, 1, tzinfo=UTC),
        description="Earliest time an event may claim once corrected for clock skew; an "
        "earlier one is recorded at the time received, flagged in "
        "context.audience.timestamp_rejected.",
    )
    timestamp_max_future_seconds: float = Field(
        default=86400.0,
        ge=0,
        description="How far after its arrival an event may claim to have happened once "
        "corrected for clock skew; a later one is recorded at the time received, flagged in "
        "context.audience.timestamp_rejected.",
    )
    webhooks: dict[str, WebhookSource] = Field(
        default_factory=dict, description="Inbound webhook sources by the name in the URL."
    )

    @model_validator(mode="after")
    def _no_default_admin_key_where_it_would_be_refused(self) -> ServerSettings:
        """The dev admin key is a default only where defaults are allowed (a dev server on
        loopback); elsewhere, unless keys are set, nobody files regulations over HTTP."""
        strict = self.environment != "dev" or not is_loopback(self.host)
        if strict and "admin_keys" not in self.model_fields_set:
            self.admin_keys = []
        return self

    @field_validator("timestamp_floor")
    @classmethod
    def _floor_is_utc(cls, floor: datetime) -> datetime:
        """A floor given without an offset is UTC, so that it compares with event times."""
        return floor.replace(tzinfo=UTC) if floor.tzinfo is None else floor


class PrivacySettings(BaseModel):
    """The workspace's privacy key: keyed hashes of identifiers (suppression list, audit log,
    consent tombstones) and pseudonyms. Kept outside the workspace, never in the warehouse."""

    model_config = ConfigDict(hide_input_in_errors=True)

    key: str | None = Field(
        default=None,
        description="The HMAC key itself (AUDIENCE_PRIVACY__KEY), 16 characters or more.",
    )
    key_file: Path | None = Field(
        default=None,
        description="A file holding the key (AUDIENCE_PRIVACY__KEY_FILE), outside the "
        "workspace so that a copy of the workspace does not carry it.",
    )


class WarehouseSettings(BaseModel):
    """How the embedded DuckDB warehouse uses the machine."""

    memory_limit: str | None = Field(
        default=None,
        description="DuckDB memory limit such as '4GB'; default: 40% of the machine's memory, "
        "so that DuckDB spills to disk before the machine runs out.",
    )
    threads: int | None = Field(
        default=None, description="Worker threads for DuckDB; None uses every core."
    )


class MlflowSettings(BaseModel):
    """Run tracking and the model registry (MLflow, the ``mlops`` extra)."""

    enabled: bool | None = Field(
        default=None,
        description="Log runs to MLflow: None (default) when the mlflow package is installed "
        "('pip install audience[mlops]'), false never, true always (an error without it).",
    )
    tracking_uri: str | None = Field(
        default=None,
        description="MLflow tracking URI (http://mlflow:5000, sqlite:///...). Unset: a SQLite "
        "store in the workspace (<workspace>/mlflow.db, artefacts in <workspace>/mlruns), "
        "which also holds the registry.",
    )
    experiment: str = Field(default="audience", description="Experiment every run is logged under.")
    timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How long a tracking server may take to answer before the run is kept "
        "in the warehouse only, with an error saying so.",
    )


class Settings(BaseSettings):
    """All runtime settings, one class.

    Examples
    --------
    >>> import os
    >>> os.environ["AUDIENCE_WAREHOUSE__THREADS"] = "2"
    >>> Settings().warehouse.threads
    2
    >>> del os.environ["AUDIENCE_WAREHOUSE__THREADS"]
    """

    # hide_input_in_errors: a refused value may be a secret; errors name the field, not it.
    model_config = SettingsConfigDict(
        env_prefix="AUDIENCE_",
        env_nested_delimiter="__",
        extra="ignore",
        hide_input_in_errors=True,
    )

    workspace: Path | None = Field(
        default=None,
        description="Workspace directory used when a command gets no --workspace option.",
    )
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
    engine: Engine = Field(
        default="duckdb",
        description="Engine of the batch path (AUDIENCE_ENGINE): duckdb (one machine) or "
        "spark (features, rules, k-means and assignment on Spark; the spark extra).",
    )
    spark: SparkSettings = Field(
        default_factory=SparkSettings, description="The Spark session of the spark engine."
    )
    queue: QueueSettings = Field(
        default_factory=QueueSettings,
        description="Queue of accepted events (RabbitMQ or embedded).",
    )
    profiles: ProfileStoreSettings = Field(
        default_factory=ProfileStoreSettings, description="Live profile store (Redis or embedded)."
    )
    server: ServerSettings = Field(
        default_factory=ServerSettings, description="Collector: keys, limits, inbound webhooks."
    )
    mlflow: MlflowSettings = Field(
        default_factory=MlflowSettings, description="Run tracking and model registry (MLflow)."
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings, description="The privacy key (kept apart)."
    )


def is_loopback(host: str) -> bool:
    """Whether a bind address is reachable from this machine only (127.0.0.0/8, ::1)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name, or 0.0.0.0-like wildcards: assume reachable from outside


def check_server_secrets(server: ServerSettings) -> None:
    """Refuse to serve with keys that do not protect anything; one line says which to set.

    Always: at least one write key, and no blank write or read key (a blank read key would
    open profiles to anyone). Outside ``dev``, and in ``dev`` whenever the server binds an
    address other than loopback: no default key, no key under :data:`MIN_KEY_LENGTH`
    characters, and no key that is both a write key and a read or admin key (the dashboard's
    ``session_secret``, when set, 16 characters or more too). Webhook sources need a
    secret of 16 characters or more. Messages never quote a key.
    """
    if not server.write_keys or any(not key.strip() for key in server.write_keys):
        raise ConfigError(
            "server.write_keys is empty or holds a blank key; set AUDIENCE_SERVER__WRITE_KEYS "
            'to a JSON list such as ["wk_…"]'
        )
    if any(not key.strip() for key in server.admin_keys):
        raise ConfigError(
            "server.admin_keys holds a blank key, which would let anyone erase people or act "
            "from the dashboard; set AUDIENCE_SERVER__ADMIN_KEYS to a JSON list of secret keys "
            'such as ["ak_…"] (or [])'
        )
    if any(not key.strip() for key in server.read_keys):
        raise ConfigError(
            "server.read_keys holds a blank key, which would let anyone read profiles; set "
            'AUDIENCE_SERVER__READ_KEYS to a JSON list of secret keys such as ["rk_…"] (or [] '
            "for no profile reads)"
        )
    strict = server.environment != "dev" or not is_loopback(server.host)
    if strict:
        where = (
            f"in environment '{server.environment}'"
            if server.environment != "dev"
            else f"on {server.host} (not loopback)"
        )
        for name, keys, default in (
            ("WRITE_KEYS", server.write_keys, DEV_WRITE_KEY),
            ("READ_KEYS", server.read_keys, DEV_READ_KEY),
            ("ADMIN_KEYS", server.admin_keys, DEV_ADMIN_KEY),
        ):
            if default in keys:
                raise ConfigError(
                    f"the default key '{default}' is refused {where}; set "
                    f"AUDIENCE_SERVER__{name} to secret keys of {MIN_KEY_LENGTH}+ characters"
                )
        for name, keys in (
            ("WRITE_KEYS", server.write_keys),
            ("READ_KEYS", server.read_keys),
            ("ADMIN_KEYS", server.admin_keys),
        ):
            if any(len(key) < MIN_KEY_LENGTH for key in keys):
                raise ConfigError(
                    f"server.{name.lower()} holds a key shorter than {MIN_KEY_LENGTH} characters, "
                    f"refused {where}; set AUDIENCE_SERVER__{name} to long random keys"
                )
        if server.session_secret is not None and len(server.session_secret) < MIN_KEY_LENGTH:
            raise ConfigError(
                f"server.session_secret is shorter than {MIN_KEY_LENGTH} characters, refused "
                f"{where}; set AUDIENCE_SERVER__SESSION_SECRET to a long random value"
            )
        for name, keys in (("read", server.read_keys), ("admin", server.admin_keys)):
            if set(server.write_keys) & set(keys):
                raise ConfigError(
                    f"a key is both a write key and {'an' if name == 'admin' else 'a'} {name} "
                    f"key, refused {where} (write keys ship in web pages); set "
                    f"AUDIENCE_SERVER__{name.upper()}_KEYS to keys of their own"
                )
        if set(server.admin_keys) & (set(server.write_keys) | set(server.read_keys)):
            raise ConfigError(
                f"an admin key is also a write or read key, refused {where}; set "
                "AUDIENCE_SERVER__ADMIN_KEYS to keys of their own"
            )
    for name, source in server.webhooks.items():
        if len(source.secret) < 16:
            raise ConfigError(
                f"webhook source '{name}' has a secret shorter than 16 characters; set "
                f"AUDIENCE_SERVER__WEBHOOKS__{name.upper()}__SECRET to a long random value"
            )


def secret_values(settings: Settings) -> list[str]:
    """Every secret the settings hold, for :func:`audience.masking.mask` and the log filter:
    write and read keys, webhook secrets, and the passwords of the queue and store URLs."""
    server = settings.server
    values = [*server.write_keys, *server.read_keys, *server.admin_keys]
    values += [server.session_secret or ""]
    values += [settings.privacy.key] if settings.privacy.key else []
    values += [source.secret for source in server.webhooks.values()]
    values += url_secrets(settings.queue.url) + url_secrets(settings.profiles.url)
    values += url_secrets(settings.mlflow.tracking_uri)
    values += [
        v for k, v in settings.queue.kafka_options.items() if "password" in k or "secret" in k
    ]
    return [value for value in dict.fromkeys(values) if value.strip()]
