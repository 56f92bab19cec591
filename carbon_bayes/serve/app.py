"""The FastAPI application: JSON endpoints, the calculator page, health and metrics.

:func:`create_app` builds the app around one :class:`~carbon_bayes.serve.service.Service`
(the posterior is read once at start-up and never written). No request names a file; a bad
request gets a 422 whose body names the field, the value and the fix, as the CLI prints them.
"""

from __future__ import annotations

import json
import time
from importlib import resources
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match

from carbon_bayes._version import __version__
from carbon_bayes.errors import CarbonBayesError, InputError
from carbon_bayes.serve import models
from carbon_bayes.serve.limits import BodyLimit
from carbon_bayes.serve.metrics import Metrics
from carbon_bayes.serve.responses import error_body, validation_fix
from carbon_bayes.serve.service import Limits, Service, contract, tables

STATIC = resources.files("carbon_bayes.serve") / "static"
TABLES = ("hardware", "regions", "countries")


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(InputError)
    async def input_error(request: Request, exc: InputError) -> JSONResponse:
        return JSONResponse(error_body(exc.field, exc.value, exc.fix, exc.row), status_code=422)

    @app.exception_handler(CarbonBayesError)
    async def package_error(request: Request, exc: CarbonBayesError) -> JSONResponse:
        return JSONResponse(error_body("request", None, str(exc)), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = dict(exc.errors()[0]) if exc.errors() else {}
        field, fix = validation_fix(err)
        return JSONResponse(error_body(field, err.get("input"), fix), status_code=422)


def _route_of(app: FastAPI, scope) -> str:
    """Return the route template that serves (or would serve) a request; ``unmatched`` when none.

    A request refused before routing (a 413 from the body limit) has no route in its scope, so
    its path is matched here, keeping the label one of the app's templates (bounded cardinality).
    """
    route = scope.get("route")
    if route is not None:
        return getattr(route, "path", "unmatched")
    for r in app.router.routes:
        if r.matches(scope)[0] == Match.FULL:
            return getattr(r, "path", "unmatched")
    return "unmatched"


def _install_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Count every request, outside every other middleware (so the body limit's 413s are counted)."""
    @app.middleware("http")
    async def count(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        metrics.observe(request.method, _route_of(app, request.scope), response.status_code,
                        time.perf_counter() - start)
        return response


def create_app(posterior=None, limits: Limits | None = None) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    posterior
        Posterior file read at start-up (default: the shipped posterior). Requests cannot change it.
    limits
        Body size, rows per request, draws and alternatives allowed (default :class:`Limits`).

    Returns
    -------
    fastapi.FastAPI
        The application (serve it with uvicorn).
    """
    service = Service(posterior, limits)
    metrics = Metrics()
    app = FastAPI(title="carbon_bayes", version=__version__, docs_url=None, redoc_url=None,
                  description="Energy (MWh) and CO2e (t) of training AI models, with credible intervals. Every "
                              "field of a run is optional; units as in the input contract (GET /v1/contract).")
    app.state.service, app.state.metrics = service, metrics
    _install_errors(app)
    # the middleware added last is the outermost: the body limit first, then the metrics around it
    app.add_middleware(BodyLimit, max_bytes=service.limits.max_body_bytes)
    _install_metrics(app, metrics)
    _routes(app, service, metrics)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app


def _report_content() -> dict[str, Any]:
    """Return the OpenAPI content of ``/v1/report``: the JSON envelope, or with ``raw`` the document itself."""
    from carbon_bayes.exports import MEDIA_TYPES

    content: dict[str, Any] = {t: {"schema": {"type": "string"}} for t in dict.fromkeys(MEDIA_TYPES.values())}
    content["application/json"] = {"schema": {"type": "object"}}
    return content


def _routes(app: FastAPI, service: Service, metrics: Metrics) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), media_type="text/html")

    @app.get("/health", summary="liveness and the posterior in use")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "posterior_sha256": service.posterior_sha256,
                "limits": vars(service.limits)}

    @app.get("/metrics", summary="Prometheus metrics", response_class=Response)
    def prometheus() -> Response:
        return Response(metrics.render(), media_type=metrics.content_type)

    @app.get("/v1/contract", summary="the input columns, units and allowed values")
    def input_contract() -> dict[str, Any]:
        return contract()

    @app.get("/v1/tables/{name}", summary="a reference table: hardware, regions or countries")
    def table(name: Literal[TABLES]) -> list[dict[str, Any]]:  # type: ignore[valid-type]
        return tables()[name]()

    @app.post("/v1/estimate", summary="one run: median, interval, quantiles")
    def estimate_one(req: models.EstimateRequest) -> dict[str, Any]:
        out = service.estimate_one(req.model_dump())
        metrics.scored("/v1/estimate", 1)
        return out

    @app.post("/v1/estimate/batch", summary="several runs, one row each")
    def estimate_batch(req: models.BatchRequest) -> dict[str, Any]:
        out = service.estimate_batch(req.model_dump())
        metrics.scored("/v1/estimate/batch", len(out["rows"]))
        return out

    @app.post("/v1/budget", summary="P(CO2e > budget) and alternatives ranked")
    def budget(req: models.BudgetRequest) -> dict[str, Any]:
        out = service.budget(req.model_dump())
        metrics.scored("/v1/budget", max(1, len(out["ranking"])))
        return out

    @app.post("/v1/report", summary="a report or an export, in any format of carbon-bayes report",
              response_model=None, responses={200: {"content": _report_content()}})
    def report(req: models.ReportRequest) -> dict[str, Any] | Response:
        out = service.report(req.model_dump())
        metrics.scored("/v1/report", len(req.runs))
        if req.raw:  # the document itself; warnings, if any, in a header (JSON, ASCII)
            notes = {"X-Carbon-Bayes-Notes": json.dumps(out["notes"])} if out["notes"] else None
            return Response(out["text"], media_type=out["media_type"], headers=notes)
        return out

    @app.post("/v1/voi", summary="the unknown input that would narrow the interval most")
    def voi(req: models.VoiRequest) -> dict[str, Any]:
        out = service.voi(req.model_dump())
        metrics.scored("/v1/voi", 1)
        return out
