"""Webhooks out: POST one JSON payload (Slack-compatible: it carries a ``text`` field)
and report anything but a 2xx answer as a WebhookError. Accepted (2xx) = delivered."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import MentionwatchError
from ..sources.http import default_user_agent, describe_status
from ..textutil import safe_text

DEFAULT_TIMEOUT = 20.0
MAX_REPLY_BYTES = 4096  # enough for Slack's "invalid_payload"-style answers; never a flood


class WebhookError(MentionwatchError):
    """A webhook did not accept the payload (exit code 1: delivery failed)."""


def describe_url(url: str) -> str:
    """The URL for messages and logs: scheme and host only. Webhook URLs carry their
    secret in the path (Slack: /services/T…/B…/token), so the path is never shown."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def target_key(url: str) -> str:
    """A stable name for this webhook in the deliveries tables, without the secret:
    the host for people, a digest of the whole URL to tell two hooks on one host apart."""
    digest = hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:12]
    return f"webhook:{describe_url(url).removesuffix('/…')}#{digest}"


def post_json(
    url: str,
    payload: Mapping[str, Any],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    user_agent: str | None = None,
) -> int:
    """POST ``payload`` as JSON; return the status when the server accepted it (2xx).

    No automatic retry: a POST that timed out may still have been posted, and a second
    copy in the team's channel is worse than the next run sending it. ``timeout`` bounds
    the whole exchange, not each read, so a trickling server cannot hold a cron job.
    """
    return asyncio.run(_post(url, payload, timeout, user_agent or default_user_agent()))


async def _post(url: str, payload: Mapping[str, Any], timeout: float, user_agent: str) -> int:
    where = describe_url(url)
    try:
        async with (
            asyncio.timeout(timeout),
            httpx.AsyncClient(
                timeout=httpx.Timeout(timeout),
                headers={"User-Agent": user_agent},
                # A redirected POST turns into a GET on many servers: say so instead.
                follow_redirects=False,
            ) as client,
            client.stream("POST", url, json=dict(payload)) as resp,
        ):
            reply = await _read_capped(resp)
            status = resp.status_code
            location = resp.headers.get("location")
    except TimeoutError:
        raise WebhookError(f"webhook {where} did not answer in {timeout:g}s") from None
    except httpx.TimeoutException:
        raise WebhookError(f"webhook {where} did not answer in {timeout:g}s") from None
    except httpx.InvalidURL as exc:
        raise WebhookError(f"invalid webhook URL ({where}): {exc}") from None
    except httpx.UnsupportedProtocol:
        raise WebhookError(f"webhook URL {where} is not http:// or https://") from None
    except httpx.HTTPError as exc:
        raise WebhookError(
            f"cannot reach webhook {where}: {safe_text(exc) or type(exc).__name__}"
        ) from None
    if 200 <= status < 300:
        return status
    message = f"webhook {where} refused the alert: {describe_status(status)}"
    if 300 <= status < 400 and location:
        message += f" (redirected to {describe_url(location)}; use the final URL)"
    elif reply:
        message += f": {reply}"
    raise WebhookError(message)


async def _read_capped(resp: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_REPLY_BYTES:
            break
    text = b"".join(chunks)[:MAX_REPLY_BYTES].decode("utf-8", "replace")
    # The reply ends up in an error line on a terminal: keep it short and inert.
    text = safe_text(text)
    return text if len(text) <= 200 else text[:199] + "…"
