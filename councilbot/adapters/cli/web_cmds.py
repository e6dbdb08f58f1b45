"""``councilbot web``: the web view (進捗・答弁検討会・検索・答弁書) on the same database;
``councilbot web link ID``: a one-time sign-in link for staff without Slack."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from councilbot.adapters.cli.common import db_session, settings
from councilbot.errors import CouncilbotError

if TYPE_CHECKING:
    from councilbot.settings import Settings

HTTP_THREADS = 16
DEMO_WORKSPACE = Path("data/demo")


def register(cli: click.Group) -> None:
    cli.add_command(web_group)


def _settings(demo: bool, host: str, port: int) -> Settings:
    """The configured settings, or with ``--demo`` those of ``make demo``'s workspace, served where it listens."""
    cfg = settings()
    if not demo:
        return cfg
    from councilbot.demo import workspace_settings

    if not (DEMO_WORKSPACE / "councilbot.db").exists():
        raise CouncilbotError("実演用のデータがありません。先に `make demo` を実行してください。")
    local = "localhost" if host in ("0.0.0.0", "127.0.0.1", "::") else host
    # The demo has no Slack: links are printed here, so the web address is known.
    return workspace_settings(cfg, DEMO_WORKSPACE).model_copy(
        update={"web_base_url": f"http://{local}:{port}", "slack_bot_token": None}
    )


def _link(cfg: Settings, user_id: str) -> str:
    from councilbot.services.common import get_user
    from councilbot.services.web_access import issue_sign_in_link

    with db_session(cfg) as db:
        return issue_sign_in_link(db, cfg, get_user(db, user_id))


@click.group(
    "web", invoke_without_command=True, help="Web画面（会期の進捗・答弁検討会・過去答弁の検索・答弁書）を起動します"
)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="待ち受けポート")
@click.option("--host", default="127.0.0.1", show_default=True, help="待ち受けアドレス（庁内に公開するときは 0.0.0.0）")
@click.option(
    "--demo",
    is_flag=True,
    help="`make demo` の作業フォルダ（data/demo）を表示し、総務課の方のサインイン用リンクを表示します",
)
@click.pass_context
def web_group(ctx: click.Context, port: int, host: str, demo: bool) -> None:
    ctx.obj = {"demo": demo, "host": host, "port": port}
    if ctx.invoked_subcommand is not None:
        return
    import waitress

    from councilbot.adapters.logging_setup import configure_logging
    from councilbot.adapters.web.app import create_web_app
    from councilbot.demo import demo_clerk_id

    cfg = _settings(demo, host, port)
    configure_logging(cfg)
    with db_session(cfg):
        pass  # the schema is current (or created) before the first request
    app = create_web_app(cfg)
    click.echo(
        f"Web画面を起動しました: {cfg.web_base_url if demo else f'http://{host}:{port}'}　終了するには Ctrl+C を押してください。"
    )
    if demo:
        click.echo(
            f"総務課の方としてサインインするには、次のリンクをブラウザで開いてください（{cfg.web_link_minutes}分以内・1回限り）:"
        )
        click.echo(f"  {_link(cfg, demo_clerk_id(cfg))}")
        click.echo(f"ほかの職員のリンクは `councilbot web --demo --port {port} link 職員ID` で発行できます。")
    waitress.serve(app, host=host, port=port, threads=HTTP_THREADS, ident="councilbot-web")


@web_group.command("link", help="職員のサインイン用リンク（1回限り・短時間有効）を発行します。Slack を使わない職員向け")
@click.argument("user_id")
@click.pass_context
def link_cmd(ctx: click.Context, user_id: str) -> None:
    opts = ctx.obj
    cfg = _settings(opts["demo"], opts["host"], opts["port"])
    click.echo(_link(cfg, user_id))
