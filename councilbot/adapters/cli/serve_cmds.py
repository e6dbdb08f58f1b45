"""``councilbot serve``: the Slack bot, in Socket Mode or over HTTP."""

from __future__ import annotations

import click

from councilbot.adapters.cli.common import db_session, settings

HTTP_THREADS = 16


def register(cli: click.Group) -> None:
    cli.add_command(serve_cmd)


@click.command("serve", help="Slack ボットを起動します（SLACK_APP_TOKEN があればソケットモード、なければ HTTP）")
@click.option("--http", "use_http", is_flag=True, help="SLACK_APP_TOKEN があっても HTTP で受け付けます")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="HTTP の待ち受けポート")
@click.option("--host", default="0.0.0.0", show_default=True, help="HTTP の待ち受けアドレス")
def serve_cmd(use_http: bool, port: int, host: str) -> None:
    from councilbot.adapters.logging_setup import configure_logging
    from councilbot.adapters.scheduler import start_scheduler
    from councilbot.adapters.slack.app import EVENTS_PATH, HEALTH_PATH, check_credentials, create_app, create_http_app
    from councilbot.adapters.slack.notifier import ChatNotifier

    cfg = settings()
    configure_logging(cfg)
    socket_mode = bool(cfg.slack_app_token) and not use_http
    check_credentials(cfg, socket_mode=socket_mode)
    with db_session(cfg):
        pass  # the schema is current (or created) before the first request
    app = create_app(cfg)
    # Reminders go out through the same chat client; only one process (the lease holder) sends them.
    scheduler = start_scheduler(cfg, ChatNotifier(app.client))
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            click.echo("Slack ボットをソケットモードで起動しました。終了するには Ctrl+C を押してください。")
            SocketModeHandler(app, cfg.slack_app_token).start()  # type: ignore[no-untyped-call]  # unannotated in slack_bolt
            return
        import waitress

        click.echo(
            f"Slack ボットを HTTP で起動しました: http://{host}:{port}{EVENTS_PATH}（ヘルスチェック {HEALTH_PATH}）"
        )
        waitress.serve(create_http_app(app), host=host, port=port, threads=HTTP_THREADS, ident="councilbot")
    finally:
        scheduler.shutdown()
