"""Runtime settings: where things run, read from the environment.

What a *deployment* decides (service addresses, secrets, resource limits) lives here and is
read from environment variables ``AUDIENCE_<SECTION>__<KEY>``. What an *analysis* decides
(objective, KPIs, column mappings, segmentation) lives in the workspace's ``audience.yaml``
(:mod:`audience.config`), so that it can be versioned with the project.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from audience.realtime.settings import ProfileStoreSettings, QueueSettings, ServerSettings


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

    model_config = SettingsConfigDict(
        env_prefix="AUDIENCE_", env_nested_delimiter="__", extra="ignore"
    )

    workspace: Path | None = Field(
        default=None,
        description="Workspace directory used when a command gets no --workspace option.",
    )
    warehouse: WarehouseSettings = Field(default_factory=WarehouseSettings)
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
