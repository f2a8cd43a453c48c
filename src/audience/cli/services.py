"""Before ``audience serve`` or ``worker`` start: are the broker and Redis they use there?

The server connects to them in its ASGI lifespan, where a failure is a uvicorn traceback and
exit code 3. Checked here first, a service that is down is one line and exit code 75
(:class:`TransientError`: start it, or fix the URL), credentials it refuses exit code 2
(:class:`ConfigError`). Messages never show a password.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from audience.errors import ConfigError, TransientError
from audience.masking import mask, url_secrets

if TYPE_CHECKING:
    from audience.config.settings import Settings

TIMEOUT = 5.0
"""Seconds to wait for each service to answer."""


def check_services(settings: Settings) -> None:
    """Connect to the configured RabbitMQ or Kafka and Redis, and close again; raise if one
    fails. Kafka's topics are created here when missing (or a clear error said)."""
    if not settings.queue.url and not settings.profiles.url:
        return
    asyncio.run(_check(settings))


async def _check(settings: Settings) -> None:
    if settings.queue.url:
        from audience.realtime.queue.kafka_setup import is_kafka

        if is_kafka(settings.queue.url):
            await _kafka(settings)
        else:
            await _rabbitmq(settings.queue.url)
    if settings.profiles.url:
        await _redis(settings.profiles.url)


async def _rabbitmq(url: str) -> None:
    import aio_pika
    from aio_pika.exceptions import ProbableAuthenticationError

    fix = "AUDIENCE_QUEUE__URL"
    if not url.lower().startswith(("amqp://", "amqps://")):
        raise ConfigError(f"{fix}: not a RabbitMQ URL; use amqp://user:password@host:5672/")
    quiet = logging.getLogger("aiormq")  # it logs the failure too: the error says it once
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    try:
        connection = await asyncio.wait_for(aio_pika.connect(url, timeout=TIMEOUT), TIMEOUT * 2)
    except ProbableAuthenticationError as exc:
        raise ConfigError(
            f"RabbitMQ at {mask(url)} refuses the user or password; fix {fix}"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"{fix}: not a RabbitMQ URL ({exc}); use amqp://user:password@host:5672/"
        ) from exc
    except Exception as exc:  # refused, unreachable, timed out: the broker is not there
        raise TransientError(
            f"RabbitMQ at {mask(url)} does not answer ({_reason(exc, url)}); start it or fix {fix}"
        ) from exc
    finally:
        quiet.setLevel(level)
    await connection.close()


async def _kafka(settings: Settings) -> None:
    try:
        import confluent_kafka  # noqa: F401  (the optional extra)

        from audience.realtime.queue.kafka_setup import ensure_topics
    except ImportError as exc:
        raise ConfigError(
            f"AUDIENCE_QUEUE__URL names Kafka but confluent-kafka is missing ({exc}); "
            "pip install 'audience[kafka]'"
        ) from exc
    await asyncio.to_thread(ensure_topics, settings.queue, TIMEOUT)


async def _redis(url: str) -> None:
    from redis.asyncio import from_url
    from redis.exceptions import AuthenticationError, ResponseError

    fix = "AUDIENCE_PROFILES__URL"
    try:
        client = from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    except ValueError as exc:
        raise ConfigError(f"{fix}: not a Redis URL ({exc}); use redis://host:6379/0") from exc
    try:
        await client.ping()
    except (AuthenticationError, ResponseError) as exc:
        raise ConfigError(
            f"Redis at {mask(url)} refuses the connection ({_reason(exc, url)}); fix {fix}"
        ) from exc
    except Exception as exc:  # refused, unreachable, timed out
        raise TransientError(
            f"Redis at {mask(url)} does not answer ({_reason(exc, url)}); start it or fix {fix}"
        ) from exc
    finally:
        await client.aclose()


def _reason(exc: BaseException, url: str) -> str:
    """The first line of ``exc``, or its type if it has none, never with the password."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return mask(text, url_secrets(url))
