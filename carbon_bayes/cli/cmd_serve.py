"""``carbon-bayes serve``: the REST service and the web calculator (FastAPI on uvicorn)."""

from __future__ import annotations

ORDER = 30


def register(sub) -> None:
    """Add the ``serve`` subcommand to ``sub`` (the subparsers of the main parser)."""
    from carbon_bayes.serve.limits import Limits

    d = Limits()
    p = sub.add_parser(
        "serve", help="serve the REST API and the web calculator (needs the 'serve' extra)",
        description="Serve JSON endpoints (estimate, budget, report, value of information, reference tables, "
                    "/health, /metrics) and the calculator page at /. Binds 127.0.0.1 unless --host says "
                    "otherwise. Requests cannot name files on the server or change the posterior.",
        epilog="Example: carbon-bayes serve --port 8000, then open http://127.0.0.1:8000/")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--posterior", metavar="NC", help="posterior file, read once at start-up (default: the shipped one)")
    p.add_argument("--max-rows", type=int, default=d.max_rows, help=f"runs per request (default {d.max_rows:,})")
    p.add_argument("--max-body-bytes", type=int, default=d.max_body_bytes,
                   help=f"request body size (default {d.max_body_bytes:,})")
    p.add_argument("--max-draws", type=int, default=d.max_draws, help=f"n_draws a request may ask (default "
                   f"{d.max_draws:,})")
    p.add_argument("--log-level", default="info", choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=run)


def _check_args(args):
    from carbon_bayes.errors import InputError

    if not 0 < args.port < 65536:
        raise InputError("--port", args.port, "give a port between 1 and 65535")
    for flag in ("max_rows", "max_body_bytes", "max_draws"):
        if getattr(args, flag) < 1:
            raise InputError(f"--{flag.replace('_', '-')}", getattr(args, flag), "give a positive number")


def run(args) -> int:
    """Run ``carbon-bayes serve`` with the parsed ``args``; return the exit status when it stops."""
    from carbon_bayes.errors import InputError

    _check_args(args)
    try:
        import uvicorn

        from carbon_bayes.serve.app import create_app
    except ImportError as e:
        raise InputError("serve", f"{e.name} not installed", 'install the service: pip install "carbon_bayes[serve]"') \
            from None
    from carbon_bayes.serve.limits import Limits

    limits = Limits(max_body_bytes=args.max_body_bytes, max_rows=args.max_rows, max_draws=args.max_draws)
    app = create_app(args.posterior, limits)
    print(f"carbon_bayes calculator: http://{args.host}:{args.port}/", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
