"""A service that does not answer is named in the error, its password never."""

from __future__ import annotations

import asyncio

import pytest

from audience.errors import TransientError
from audience.realtime.queue.rabbitmq import connect
from audience.realtime.stores.redis import RedisProfileStore
from tests.realtime.conftest import free_port

PASSWORD = "Zq7-not-for-logs"


def test_a_redis_that_does_not_answer_is_reported_without_its_password() -> None:
    url = f"redis://default:{PASSWORD}@127.0.0.1:{free_port()}/0"

    async def main() -> None:
        store = RedisProfileStore(url, "audience-test", dedupe_days=1)
        try:
            await store.start()
        finally:
            await store.close()

    with pytest.raises(TransientError) as caught:
        asyncio.run(main())
    message = str(caught.value)
    assert PASSWORD not in message
    assert "redis://default:***@127.0.0.1:" in message and "AUDIENCE_PROFILES__URL" in message


def test_a_rabbitmq_that_does_not_answer_is_reported_without_its_password() -> None:
    url = f"amqp://app:{PASSWORD}@127.0.0.1:{free_port()}/"

    with pytest.raises(TransientError) as caught:
        asyncio.run(connect(url))
    message = str(caught.value)
    assert PASSWORD not in message
    assert "amqp://app:***@127.0.0.1:" in message and "AUDIENCE_QUEUE__URL" in message
