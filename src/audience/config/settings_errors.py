"""Settings errors as one line naming the environment variable to fix.

:class:`~audience.config.settings.Settings` reads ``AUDIENCE_<SECTION>__<KEY>`` variables;
pydantic reports a bad one by its field path (``server.port``) over several lines, and
pydantic-settings a list or mapping that is not JSON only by its section (``field "server"``).
:func:`settings_error` turns either into a :class:`ConfigError` whose message starts with the
variable's name, says what is wrong with it and how to fix it, and never repeats its value
(it may be a secret).
"""

from __future__ import annotations

import json
import os
import re
import types
from collections.abc import Mapping, Sequence
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_settings import SettingsError

from audience.config.settings import Settings
from audience.errors import ConfigError

PREFIX = "AUDIENCE_"
DELIMITER = "__"


def settings_error(
    exc: BaseException, environ: Mapping[str, str] | None = None
) -> ConfigError | None:
    """The one-line error for a failure to read the settings; None if ``exc`` is not one."""
    environ = os.environ if environ is None else environ
    if isinstance(exc, ValidationError) and exc.title == Settings.__name__:
        return _invalid(exc, environ)
    if isinstance(exc, SettingsError):
        return _not_json(exc, environ)
    return None


def _invalid(exc: ValidationError, environ: Mapping[str, str]) -> ConfigError:
    first = exc.errors(include_url=False, include_input=False)[0]
    name = variable(first["loc"], environ)
    message = str(first["msg"]).removeprefix("Value error, ")
    fix = "set it" if first["type"] == "missing" else "fix or unset it"
    more = exc.error_count() - 1
    others = f" ({more} more problem(s) in the settings)" if more else ""
    return ConfigError(f"{name}: {message}; {fix}{others}")


def variable(loc: Sequence[str | int], environ: Mapping[str, str]) -> str:
    """The variable that set the value at ``loc`` (``("server", "port")``).

    The deepest one present in ``environ`` (``AUDIENCE_SERVER__WEBHOOKS`` holding a JSON
    mapping sets ``server.webhooks.crm.secret``), else the one that would set it.
    """
    present = {key.upper(): key for key in environ}
    keys = [str(part) for part in loc]
    for end in range(len(keys), 0, -1):
        candidate = PREFIX + DELIMITER.join(keys[:end]).upper()
        if candidate in present:
            return present[candidate]
    return PREFIX + DELIMITER.join(k for k in keys if not k.isdigit()).upper()


def _not_json(exc: SettingsError, environ: Mapping[str, str]) -> ConfigError:
    match = re.search(r'field "(\w+)"', str(exc))
    section = (PREFIX + match.group(1)).upper() if match else PREFIX
    for key, value in sorted(environ.items()):
        upper = key.upper()
        if upper != section and not upper.startswith(section + DELIMITER):
            continue
        annotation = _annotation(upper.removeprefix(PREFIX).lower().split(DELIMITER))
        if annotation is None or not _complex(annotation):
            continue
        try:
            json.loads(value)
        except ValueError as error:
            example = '["…", "…"]' if _is_list(annotation) else '{"key": "…"}'
            return ConfigError(
                f"{key}: not valid JSON ({_first_line(error)}); write it as JSON, "
                f"e.g. {key}='{example}'"
            )
    return ConfigError(
        f"{_first_line(exc)}; a list or a mapping in an {PREFIX}<SECTION>{DELIMITER}<KEY> "
        "variable is written as JSON"
    )


def _annotation(parts: Sequence[str]) -> Any:
    """The type of the setting at ``parts`` (lower-case names, dict keys), or None."""
    annotation: Any = Settings
    for part in parts:
        annotation = _optional(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            fields = {name.lower(): f for name, f in annotation.model_fields.items()}
            field = fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    return _optional(annotation)


def _optional(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        kept = [a for a in get_args(annotation) if a is not type(None)]
        if len(kept) == 1:
            return kept[0]
    return annotation


def _is_list(annotation: Any) -> bool:
    return get_origin(annotation) in (list, set, tuple, frozenset)


def _complex(annotation: Any) -> bool:
    """Whether pydantic-settings reads the value of such a setting as JSON."""
    if _is_list(annotation) or get_origin(annotation) is dict:
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
