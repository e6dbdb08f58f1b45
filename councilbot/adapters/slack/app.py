"""Builds the slack-bolt app on top of the services, and its HTTP front.

The app acknowledges every request at once (``process_before_response=False``):
bolt answers Slack as soon as a listener calls ``ack()``, and whatever the
listener does after that, or in its lazy functions, runs on the listener
executor. Acknowledgements and slow work (a model writing a draft) share that
executor, so it is sized well above the number of drafts that may run at once;
its threads are created only when needed.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, jsonify, request
from slack_bolt import App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from councilbot.adapters.slack.dispatch import Runtime
from councilbot.adapters.slack.listeners import register_listeners
from councilbot.adapters.slack.notifier import ChatNotifier
from councilbot.app_context import ensure_context
from councilbot.errors import CouncilbotError
from councilbot.settings import Settings

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
LISTENER_THREADS = 64
RATE_LIMIT_RETRIES = 3
WEB_API_TIMEOUT = 30


def web_client(settings: Settings) -> WebClient:
    """The Web API client: SLACK_API_URL as base, retries on rate limits and dropped connections."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/",
        timeout=WEB_API_TIMEOUT,
        retry_handlers=[ConnectionErrorRetryHandler(), RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )


def check_credentials(settings: Settings, *, socket_mode: bool) -> None:
    """Refuse to start, in Japanese, without the tokens the chosen mode needs."""
    if not settings.slack_bot_token:
        raise CouncilbotError(
            "SLACK_BOT_TOKEN が設定されていません。docs/slack-setup.md の手順でボットトークン（xoxb-）を設定してください。"
        )
    if socket_mode and not (settings.slack_app_token or "").startswith("xapp-"):
        raise CouncilbotError("SLACK_APP_TOKEN はアプリレベルトークン（xapp- で始まるもの）を設定してください。")
    if not socket_mode and not settings.slack_signing_secret:
        raise CouncilbotError(
            "SLACK_SIGNING_SECRET が設定されていません。HTTP で受け付けるには署名シークレットが必要です（docs/slack-setup.md 参照）。"
        )


def create_app(settings: Settings, *, executor: ThreadPoolExecutor | None = None) -> App:
    ensure_context()
    check_credentials(settings, socket_mode=not settings.slack_signing_secret)
    client = web_client(settings)
    try:
        app = App(
            # bolt gives each request a logger named after the app, with the level of the logger below:
            # named "councilbot", it would reset the level of every councilbot.* logger on each request.
            name="councilbot.slack",
            signing_secret=settings.slack_signing_secret or "",
            client=client,
            process_before_response=False,
            listener_executor=executor or ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack"),
            logger=logging.getLogger("councilbot.slack"),
        )
    except SlackApiError as exc:
        raise CouncilbotError(
            f"Slack のボットトークンを確認できませんでした（{exc.response.get('error')}）。SLACK_BOT_TOKEN を確かめてください。"
        ) from None
    except OSError as exc:
        raise CouncilbotError(f"Slack（{settings.slack_api_url}）に接続できませんでした: {exc}") from None
    register_listeners(app, Runtime(settings, ChatNotifier(client)))
    return app


def create_http_app(app: App) -> Flask:
    """Slack's requests at /slack/events; a health check at /healthz."""
    flask_app = Flask("councilbot")
    handler = SlackRequestHandler(app)

    @flask_app.post(EVENTS_PATH)
    def slack_events():  # type: ignore[no-untyped-def]
        return handler.handle(request)

    @flask_app.get(HEALTH_PATH)
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    return flask_app
