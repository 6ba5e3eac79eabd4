"""Slack through an incoming webhook (slack_sdk's WebhookClient). The webhook URL is a secret: it is
read by name from Secrets Manager when first needed and never logged, not even by slack_sdk."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk.webhook import WebhookClient

from chalicelib.core.errors import DependencyFailed

# slack_sdk logs the request URL at DEBUG and on retries at INFO; its logger stays quiet here and
# failures are reported by us, without the URL.
_SDK_LOG = logging.getLogger("tfpipe.slack_sdk")
_SDK_LOG.setLevel(logging.CRITICAL)
_SDK_LOG.propagate = False


class SlackWebhookNotifier:
    def __init__(self, webhook_url: Callable[[], str], timeout: float = 10.0):
        self._webhook_url = webhook_url
        self._timeout = timeout
        self._client: WebhookClient | None = None

    def _webhook(self) -> WebhookClient:
        if self._client is None:
            self._client = WebhookClient(self._webhook_url(), timeout=int(self._timeout), logger=_SDK_LOG)
        return self._client

    def notify(self, text: str, blocks: list[dict]) -> None:
        try:
            response = self._webhook().send(text=text, blocks=blocks)
        except Exception as exc:  # urllib errors name the host at most; keep only the kind of failure
            raise DependencyFailed(f"posting to Slack: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise DependencyFailed(f"posting to Slack: HTTP {response.status_code} {str(response.body)[:100]}")
