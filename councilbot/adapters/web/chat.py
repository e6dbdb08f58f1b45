"""Telling chat about an action taken on the web, exactly as a click in chat would (``announce``)."""

from __future__ import annotations

import logging

from councilbot.settings import Settings

log = logging.getLogger(__name__)

CHAT_FAILED = "操作は保存しましたが、Slack で次の担当の方にお知らせできませんでした。直接お知らせください。"


def follow_up_in_chat(settings: Settings, key: str) -> str | None:
    """Notify the next people through the chat's own path; a Japanese warning if that failed.

    Without a bot token (a city without Slack, the demo) there is no chat to tell.
    """
    if not settings.slack_bot_token:
        return None
    from councilbot.adapters.slack.announce import announce
    from councilbot.adapters.slack.app import web_client
    from councilbot.adapters.slack.dispatch import NotificationFailed, Runtime
    from councilbot.adapters.slack.notifier import ChatNotifier

    try:
        announce(Runtime(settings, ChatNotifier(web_client(settings))), key)
    except NotificationFailed as exc:
        return exc.message
    except Exception:
        log.exception("could not follow up in chat on %s", key)
        return CHAT_FAILED
    return None
