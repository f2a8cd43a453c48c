"""Outbound webhooks signed per Standard Webhooks, retried with backoff, never lost.

Each message is POSTed with ``webhook-id`` (stable across tries and replays, so a receiver can
drop duplicates), ``webhook-timestamp`` (of the try) and ``webhook-signature`` (``v1,`` and the
base64 HMAC-SHA256 of ``id.timestamp.body`` under the ``whsec_`` secret, computed by the
``standardwebhooks`` library). Outcomes:

- 2xx: delivered;
- 408, 425, 429, 5xx, connection errors and timeouts: retried after an exponential delay with
  jitter (``Retry-After`` is honoured up to the cap); after the last try: dead letter;
- 410 Gone: the receiver says the endpoint is retired; the endpoint is *disabled*, messages
  not yet delivered are held (still pending) and nothing more is sent to it;
- any other answer (a 3xx redirect included: it is not followed): dead letter at once.

The sender does no I/O besides HTTP: the caller records outcomes (:mod:`..deliveries`).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Literal

import httpx
from standardwebhooks import Webhook

from audience.activation.destinations.netguard import check_url
from audience.config.activation import WebhookDestination, check_secret
from audience.errors import ConfigError
from audience.masking import mask, url_secrets
from audience.store.clock import SYSTEM_CLOCK, Clock

RETRYABLE = frozenset({408, 425, 429})
USER_AGENT = "audience-webhooks/1"


@dataclass(frozen=True)
class Message:
    """One webhook: its id and the exact JSON body signed and sent."""

    delivery_id: str
    body: str


@dataclass(frozen=True)
class Outcome:
    delivery_id: str
    status: Literal["delivered", "dead", "held"]
    attempts: int
    last_status: int | None = None
    error: str | None = None


@dataclass
class SendReport:
    outcomes: list[Outcome] = field(default_factory=list)
    disabled: str | None = None
    """Why the endpoint was disabled during this send (a 410 answer), if it was."""


def resolve_secret(destination: WebhookDestination) -> str:
    """The destination's ``whsec_`` secret, from the file or the environment."""
    secret = destination.secret
    if secret is None and destination.secret_env:
        secret = os.environ.get(destination.secret_env)
        if not secret:
            raise ConfigError(
                f"destination {destination.name!r}: environment variable "
                f"{destination.secret_env} is not set; export the whsec_ secret"
            )
    if secret is None:
        raise ConfigError(f"destination {destination.name!r} has no secret")
    try:
        check_secret(secret)
    except ValueError as exc:
        raise ConfigError(f"destination {destination.name!r}: {exc}") from exc
    return secret


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


class WebhookSender:
    """Send messages to one webhook destination.

    Parameters
    ----------
    destination:
        URL, retry policy, concurrency and allowed networks.
    secret:
        ``whsec_`` secret; default: the destination's (file or environment).
    rng:
        Source of the jitter (seed it for reproducible delays).
    clock:
        Time of signatures and of a 410's note (the command's or server's clock).
    """

    def __init__(
        self,
        destination: WebhookDestination,
        secret: str | None = None,
        *,
        rng: random.Random | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.destination = destination
        self.clock = clock
        self.signer = Webhook(secret or resolve_secret(destination))
        self.rng = rng or random.Random()

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before try ``attempt + 1``: exponential, capped, half of it jittered."""
        d = self.destination
        base = min(d.backoff_max_seconds, d.backoff_seconds * 2.0 ** (attempt - 1))
        wait = base / 2 + self.rng.uniform(0, base / 2)
        if retry_after is not None:
            wait = max(wait, min(retry_after, d.backoff_max_seconds))
        return wait

    def headers(self, message: Message) -> dict[str, str]:
        now = self.clock.now().replace(tzinfo=UTC)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message.delivery_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.signer.sign(message.delivery_id, now, message.body),
        }

    def send(self, messages: Sequence[Message]) -> SendReport:
        """Send every message (blocking); see :meth:`send_async`."""
        return asyncio.run(self.send_async(messages))

    async def send_async(self, messages: Sequence[Message]) -> SendReport:
        """Send every message, ``concurrency`` at a time, each with its own retries.

        Raises
        ------
        ConfigError
            When the URL resolves to an address the destination does not allow.
        """
        d = self.destination
        check_url(d.url, d.allow_networks, d.name)
        report = SendReport()
        slots = asyncio.Semaphore(d.concurrency)
        timeout = httpx.Timeout(d.timeout_seconds)
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            report.outcomes = list(
                await asyncio.gather(*(self._deliver(client, m, slots, report) for m in messages))
            )
        return report

    async def _post(
        self,
        client: httpx.AsyncClient,
        message: Message,
        slots: asyncio.Semaphore,
        report: SendReport,
    ) -> httpx.Response | str | None:
        """One try: the response, an error text, or None when the endpoint got disabled."""
        async with slots:
            if report.disabled:  # checked once a slot is ours: a 410 may have come meanwhile
                return None
            try:
                return await client.post(
                    self.destination.url,
                    content=message.body.encode(),
                    headers=self.headers(message),
                )
            except httpx.TransportError as exc:
                text = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                return mask(text, url_secrets(self.destination.url))

    async def _deliver(
        self,
        client: httpx.AsyncClient,
        message: Message,
        slots: asyncio.Semaphore,
        report: SendReport,
    ) -> Outcome:
        attempts, last_status, error = 0, None, "not sent"
        while attempts < self.destination.max_attempts:
            answer = await self._post(client, message, slots, report)
            if answer is None:
                return Outcome(message.delivery_id, "held", attempts, last_status, report.disabled)
            attempts += 1
            retry_after = None
            if isinstance(answer, str):
                error = answer
            else:
                last_status = answer.status_code
                if answer.is_success:
                    return Outcome(message.delivery_id, "delivered", attempts, last_status)
                if last_status == 410:
                    report.disabled = (
                        f"endpoint answered 410 Gone at {self.clock.now():%Y-%m-%d %H:%M:%S}Z"
                    )
                    return Outcome(message.delivery_id, "held", attempts, 410, report.disabled)
                error = f"HTTP {last_status}"
                if last_status not in RETRYABLE and last_status < 500:
                    return Outcome(message.delivery_id, "dead", attempts, last_status, error)
                retry_after = _retry_after(answer)
            if attempts < self.destination.max_attempts:
                await asyncio.sleep(self.delay(attempts, retry_after))
        return Outcome(message.delivery_id, "dead", attempts, last_status, error)
