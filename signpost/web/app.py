"""`create_app`: the FastAPI application with sessions, security headers, pages, API and error handlers."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from core.errors import InvalidTransition, NotFound
from signpost.context import AppContext
from signpost.web import api, auth, pages
from signpost.web.render import STATIC_DIR
from signpost.web.security import SecurityHeaders

log = logging.getLogger(__name__)
SESSION_COOKIE = "signpost_session"
SESSION_MAX_AGE = 12 * 3600


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(auth.LoginRequired)
    async def _login_required(request: Request, exc: auth.LoginRequired) -> Response:
        return auth.login_redirect(request)

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "not_found", "detail": str(exc)}, status_code=404)
        return pages.not_found_page(request, str(exc))

    @app.exception_handler(InvalidTransition)
    async def _conflict(request: Request, exc: InvalidTransition) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "invalid_transition", "detail": str(exc)}, status_code=409)
        return pages.error_page(request, StarletteHTTPException(409, str(exc)))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request) or exc.status_code == 401:
            return JSONResponse({"error": "http_error", "detail": exc.detail}, status_code=exc.status_code,
                                headers=exc.headers)
        return pages.error_page(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse({"error": "invalid_request", "detail": errors}, status_code=422)


def create_app(app_ctx: AppContext, login: auth.Login | None = None) -> FastAPI:
    """The dashboard app over `app_ctx`'s database; `app.state.login` holds the account (maybe generated)."""
    settings = app_ctx.settings
    app = FastAPI(title="Signpost", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.app_ctx = app_ctx
    app.state.login = login or auth.resolve_login(settings)
    app.state.throttle = auth.LoginThrottle()
    app.add_middleware(SessionMiddleware, secret_key=auth.session_secret(settings), session_cookie=SESSION_COOKIE,
                       max_age=SESSION_MAX_AGE, same_site="lax", https_only=False)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(api.router)
    _install_handlers(app)
    _ = app_ctx.engine  # migrate before the first request, not during it
    log.info("dashboard ready for operator %s", app.state.login.username)
    return app
