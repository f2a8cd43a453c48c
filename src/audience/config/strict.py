"""The strict base of every section of ``audience.yaml``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Unknown keys are errors that name them, not settings silently ignored."""

    model_config = ConfigDict(extra="forbid")
