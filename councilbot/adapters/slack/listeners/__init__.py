"""Wires every group of listeners onto the app: one module per kind of request, each listener a
module-level function registered with ``dispatch.with_runtime``."""

from __future__ import annotations

from slack_bolt import App

from councilbot.adapters.slack.dispatch import Runtime
from councilbot.adapters.slack.listeners import actions, commands, commitments, events, shortcuts, views


def register_listeners(app: App, rt: Runtime) -> None:
    for group in (commands, shortcuts, actions, views, events, commitments):
        group.register(app, rt)
