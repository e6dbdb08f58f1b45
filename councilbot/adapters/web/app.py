"""The Flask app of the web view. Each page reads through the services in one transaction;
each action calls the same service as the chat button, as the signed-in user.

Pages: 会期の進捗 (/), 答弁検討会 (/meeting), 質問 (/q/KEY), 過去答弁の検索 (/search),
答弁書 (/books). Sign-in: /signin (a one-time link from chat) or the trusted proxy header.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, cast

from flask import Flask, Response, g, redirect, render_template, request, send_file, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from councilbot.adapters.web import format as fmt
from councilbot.adapters.web import security
from councilbot.adapters.web.chat import follow_up_in_chat
from councilbot.app_context import ensure_context
from councilbot.domain.japanese import day_label, local_time
from councilbot.domain.workflow import STATE_LABELS, TRANSITIONS, State
from councilbot.errors import CouncilbotError, InvalidInput, NotFound, PermissionDenied, StaleVersion
from councilbot.services import books, meeting, review, web_access
from councilbot.services.common import actor_of, configured_chains, get_department, get_user
from councilbot.services.search import find_similar, search_archive
from councilbot.services.status import UNASSIGNED, session_status, user_queue
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import User, utcnow

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
PUBLIC = frozenset({"signin", "signin_post", "signed_out", "static", "healthz"})
REFRESH_SECONDS = 60
SEARCH_LIMIT = 20
MAX_QUERY = 200
STATUS_OF = {PermissionDenied: 403, NotFound: 404, StaleVersion: 409}
DONE = {"approve": "承認しました。", "send_back": "差し戻しました。", "finalize": "校了しました。"}
UNEXPECTED = "処理中に問題が発生したため、操作を完了できませんでした。時間をおいてもう一度お試しください。解決しない場合はシステム管理者に連絡してください。"


def _status(exc: CouncilbotError) -> int:
    return next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 400)


def stage_columns(db: Session, labels: set[str]) -> list[str]:
    """Division × stage columns in the order work moves: 受付 … each review stage … 校了, 取下げ."""
    stages = dict.fromkeys(f"{s}確認中" for chain in configured_chains(db).values() for s in chain)
    head = [STATE_LABELS[s] for s in (State.RECEIVED, State.ASSIGNED, State.DRAFTING)]
    tail = [STATE_LABELS[s] for s in (State.APPROVED, State.FINAL, State.WITHDRAWN)]
    middle = [s for s in stages if s in labels] + sorted(labels - set(stages) - set(head) - set(tail))
    return head + middle + tail


def action_label(name: str) -> str:
    """A stamp's action in Japanese (承認, 差戻し, 校了 …)."""
    found = TRANSITIONS.get(name)
    return found.label if found else name


def create_web_app(settings: Settings) -> Flask:
    ensure_context()
    app = Flask("councilbot.web", template_folder=str(HERE / "templates"), static_folder=str(HERE / "static"))
    app.jinja_env.autoescape = True
    tz = settings.tz_name
    app.jinja_env.filters.update(
        stamp=lambda v: local_time(v, tz, seconds=True, weekday=True),
        minute=lambda v: day_label(v, tz),
        reading=fmt.reading_time,
        highlight=fmt.highlight,
    )
    app.jinja_env.globals.update(
        csrf_token=security.csrf_token,
        csrf_field=security.CSRF_FIELD,
        refresh_seconds=REFRESH_SECONDS,
        link_minutes=settings.web_link_minutes,
        action_label=action_label,
    )
    security.install(app, settings)

    def page(template: str, code: int = 200, **context: Any) -> tuple[str, int]:
        return render_template(template, viewer=g.get("viewer"), **context), code

    def message(text: str, status: int, title: str = "お知らせ") -> tuple[str, int]:
        return page("message.html", status, title=title, text=text)

    @app.before_request
    def sign_in_check():  # type: ignore[no-untyped-def]
        try:
            security.identify(settings)
        except CouncilbotError as exc:
            return message(exc.message, _status(exc), "サインインできません")
        security.check_csrf()
        if request.endpoint in PUBLIC:
            return None
        if g.user_id is None:
            return page("signin.html", 401, error=None, needed=True)
        return None

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):  # type: ignore[no-untyped-def]
        texts = {
            400: "送信内容を確認できませんでした。画面を読み込み直してから、もう一度操作してください。",
            404: "お探しのページは見つかりません。",
            405: "この操作はできません。",
        }
        return message(texts.get(exc.code or 0, "この操作はできません。"), exc.code or 400)

    @app.errorhandler(CouncilbotError)
    def refused(exc: CouncilbotError):  # type: ignore[no-untyped-def]
        return message(exc.message, _status(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):  # type: ignore[no-untyped-def]
        log.exception("unexpected error in the web view")
        return message(UNEXPECTED, 500)

    def as_user(db: Session) -> User:
        return get_user(db, g.user_id)

    # --- sign-in ---------------------------------------------------------------

    @app.get("/signin")
    def signin():  # type: ignore[no-untyped-def]
        return page("signin.html", error=None, needed=False)

    @app.post("/signin")
    def signin_post():  # type: ignore[no-untyped-def]
        try:
            with session_scope(settings) as db:
                signed = web_access.redeem_sign_in_link(db, settings, request.form.get("token", ""))
        except CouncilbotError as exc:
            return page("signin.html", _status(exc), error=exc.message, needed=False)
        # Flask's redirect builds the app's own response class.
        response = cast(Response, redirect(url_for("dashboard"), 303))
        security.set_cookie(
            response, settings, security.SESSION_COOKIE, signed.token, max_age=settings.web_session_hours * 3600
        )
        return response

    @app.post("/signout")
    def signout():  # type: ignore[no-untyped-def]
        with session_scope(settings) as db:
            web_access.end_session(db, g.get("session_token"))
        response = redirect(url_for("signed_out"), 303)
        response.delete_cookie(security.SESSION_COOKIE, path="/")
        return response

    @app.get("/signed-out")
    def signed_out():  # type: ignore[no-untyped-def]
        return message(
            "サインアウトしました。もう一度使うときは、Slack で `/council web` を実行してください。",
            200,
            "サインアウト",
        )

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return {"status": "ok"}

    # --- pages -------------------------------------------------------------------

    @app.get("/")
    def dashboard():  # type: ignore[no-untyped-def]
        chosen = request.args.get("session") or None
        division = request.args.get("division") or None
        with session_scope(settings) as db:
            user = as_user(db)
            now = utcnow()
            status = session_status(db, chosen, now=now)
            labels = set(status.totals)
            rows = [d for d in status.divisions if division in (None, d.department)]
            overdue = [o for o in status.overdue if division in (None, o.department)]
            return page(
                "dashboard.html",
                status=status,
                rows=rows,
                overdue=overdue,
                division=division,
                columns=stage_columns(db, labels),
                divisions=sorted(d.department for d in status.divisions),
                sessions=meeting.sessions(db),
                queue=user_queue(db, user),
                unassigned=UNASSIGNED,
                now=now,
                deadline_left=fmt.time_left(status.session.answer_deadline, now),
                meeting_left=fmt.time_left(status.session.review_meeting, now),
            )

    @app.get("/meeting")
    def review_meeting():  # type: ignore[no-untyped-def]
        division = request.args.get("division") or None
        with session_scope(settings) as db:
            as_user(db)
            if division:
                get_department(db, division)
            agenda = meeting.meeting_agenda(db, settings, request.args.get("session") or None, department=division)
            divisions = sorted(
                d.department for d in session_status(db, agenda.session.name).divisions if d.department != UNASSIGNED
            )
            return page(
                "meeting.html", agenda=agenda, sessions=meeting.sessions(db), divisions=divisions, division=division
            )

    def question_page(db: Session, key: str, *, status: int = 200, error: str | None = None, notice: str | None = None):  # type: ignore[no-untyped-def]
        history = meeting.question_history(db, settings, as_user(db), key)
        return page("question.html", status, h=history, q=history.question, error=error, notice=notice)

    @app.get("/q/<key>")
    def question(key: str):  # type: ignore[no-untyped-def]
        notice = DONE.get(request.args.get("done", ""))
        with session_scope(settings) as db:
            return question_page(db, key, notice=notice)

    @app.post("/q/<key>/act")
    def act(key: str):  # type: ignore[no-untyped-def]
        action = request.form.get("action", "")
        version = request.form.get("version", "")
        comment = request.form.get("comment", "")
        try:
            if action not in meeting.WEB_ACTIONS or not version.isdigit():
                raise InvalidInput("操作の指定が正しくありません。画面を読み込み直してください。")
            with session_scope(settings) as db:
                user = as_user(db)
                expected = int(version)
                if action == "approve":
                    result = review.approve(db, user, key, expected_version=expected, comment=comment.strip() or None)
                elif action == "send_back":
                    result = review.send_back(db, user, key, comment=comment, expected_version=expected)
                else:
                    result = review.finalize(db, settings, user, key, expected_version=expected)
                canonical = result.question.key
        except CouncilbotError as exc:
            with session_scope(settings) as db:
                return question_page(db, key, status=_status(exc), error=exc.message)
        warning = follow_up_in_chat(settings, canonical)
        if warning:
            with session_scope(settings) as db:
                return question_page(db, canonical, notice=DONE[action], error=warning)
        return redirect(url_for("question", key=canonical, done=action), 303)

    @app.get("/search")
    def search():  # type: ignore[no-untyped-def]
        args = {k: (request.args.get(k) or "").strip() for k in ("q", "session", "member", "division", "year", "mode")}
        with session_scope(settings) as db:
            as_user(db)
            results, error = None, None
            try:
                if len(args["q"]) > MAX_QUERY:
                    raise InvalidInput(f"検索語句が長すぎます。{MAX_QUERY}文字以内にしてください。")
                if args["q"] and args["mode"] == "similar":
                    results = find_similar(db, settings, args["q"], limit=SEARCH_LIMIT)
                elif args["q"] or any(args[k] for k in ("session", "member", "division", "year")):
                    results = search_archive(
                        db,
                        settings,
                        args["q"],
                        limit=SEARCH_LIMIT,
                        member=args["member"] or None,
                        department=args["division"] or None,
                        session=args["session"] or None,
                        year=args["year"] or None,
                        newest_first=not args["q"],
                    )
            except CouncilbotError as exc:
                error = exc.message
            return page("search.html", 400 if error else 200, args=args, results=results, error=error)

    def books_view(db: Session, *, status: int = 200, error: str | None = None, done: bool = False):  # type: ignore[no-untyped-def]
        user = as_user(db)
        sessions = meeting.sessions(db)
        return page(
            "books.html",
            status,
            exports=meeting.list_exports(db),
            sessions=sessions,
            error=error,
            done=done,
            may_export=actor_of(user).is_general_affairs,
            session_names={s.id: s.name for s in sessions},
        )

    @app.get("/books")
    def books_page():  # type: ignore[no-untyped-def]
        with session_scope(settings) as db:
            return books_view(db, done=request.args.get("done") == "1")

    @app.post("/books/export")
    def books_export():  # type: ignore[no-untyped-def]
        try:
            with session_scope(settings) as db:
                user = as_user(db)
                books.export_book(
                    db,
                    settings,
                    user,
                    request.form.get("session") or None,
                    draft=request.form.get("draft") == "1",
                    back_data=request.form.get("back_data") == "1",
                )
        except CouncilbotError as exc:
            with session_scope(settings) as db:
                return books_view(db, status=_status(exc), error=exc.message)
        return redirect(url_for("books_page", done="1"), 303)

    @app.get("/books/<int:export_id>/download")
    def books_download(export_id: int):  # type: ignore[no-untyped-def]
        with session_scope(settings) as db:
            path = meeting.open_export(db, settings, as_user(db), export_id)
        return send_file(path, as_attachment=True, download_name=path.name, max_age=0)

    return app
