"""Who is asking, and is the form theirs: session cookies, the trusted proxy header, CSRF tokens,
and the headers every response carries.

The session token lives only in an HttpOnly, SameSite=Lax cookie (Secure when the
view is served over https). A form's CSRF token is derived from the browser's own
secret (its session token, or before sign-in a random pre-session cookie), so a
page on another site cannot produce it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from flask import Flask, Response, abort, g, request

from councilbot.services import web_access
from councilbot.settings import Settings
from councilbot.storage.db import session_scope
from councilbot.storage.models import User

log = logging.getLogger(__name__)

SESSION_COOKIE = "councilbot_session"
PRE_SESSION_COOKIE = "councilbot_pre"
CSRF_FIELD = "csrf"
# Everything is served from here: no script, style or font from elsewhere, no inline script.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _secure(settings: Settings) -> bool:
    return request.is_secure or settings.web_base_url.lower().startswith("https://")


def set_cookie(response: Response, settings: Settings, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="Lax", secure=_secure(settings), path="/")


def csrf_token() -> str:
    """The token for this browser's forms."""
    secret = g.get("session_token") or g.get("pre_session")
    if not secret:
        g.pre_session = secret = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(24)
        g.new_pre_session = PRE_SESSION_COOKIE not in request.cookies
    return hmac.new(secret.encode(), b"councilbot-csrf", hashlib.sha256).hexdigest()


def check_csrf() -> None:
    if request.method != "POST":
        return
    g.pre_session = request.cookies.get(PRE_SESSION_COOKIE)
    if not (g.get("session_token") or g.pre_session):
        abort(400)
    if not hmac.compare_digest(request.form.get(CSRF_FIELD, ""), csrf_token()):
        abort(400)


def _viewer(user: User) -> str:
    """How the page header names the signed-in user (kept as text: pages may render after the transaction)."""
    return f"{user.department.name if user.department else ''} {user.name}さん".strip()


def identify(settings: Settings) -> None:
    """Find the signed-in user for this request (``g.user_id``), by cookie or by the trusted header."""
    g.user_id = g.viewer = None
    token = request.cookies.get(SESSION_COOKIE)
    header = (settings.web_trusted_header or "").strip()
    claimed = request.headers.get(header, "").strip() if header and web_access.header_sign_in_enabled(settings) else ""
    with session_scope(settings) as db:
        user = web_access.session_user(db, token)
        if user is not None and (not claimed or user.chat_id == claimed):
            g.user_id, g.session_token, g.viewer = user.chat_id, token, _viewer(user)
            return
        if not claimed:
            return
        if not web_access.is_trusted_proxy(settings, request.remote_addr):
            # The value is not logged: it names a person.
            log.warning(
                "ignored the sign-in header from an address not in WEB_TRUSTED_PROXIES: %s", request.remote_addr
            )
            return
        signed = web_access.sign_in_by_header(db, settings, claimed, request.remote_addr)
        g.user_id, g.session_token, g.new_session, g.viewer = (
            signed.user.chat_id,
            signed.token,
            signed,
            _viewer(signed.user),
        )


def install(app: Flask, settings: Settings) -> None:
    @app.after_request
    def protect(response: Response) -> Response:
        signed = g.get("new_session")
        if signed is not None:
            set_cookie(response, settings, SESSION_COOKIE, signed.token, max_age=settings.web_session_hours * 3600)
        if g.get("new_pre_session"):
            set_cookie(response, settings, PRE_SESSION_COOKIE, g.pre_session)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        return response
