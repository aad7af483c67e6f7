"""`genesis serve` and `genesis api-token show | rotate`: the HTTP API of the workspace.

    genesis serve                         # http://127.0.0.1:8700, docs at /docs
    genesis serve --port 9000 --max-jobs 8
    genesis serve --header-timeout 5 --body-timeout 20 --max-uploads 2

Bounds (each a flag): a request's head must arrive within --header-timeout seconds (10) of the connection's
start, a body may fall silent for at most --body-timeout seconds (30), an idle connection closes after
--keep-alive seconds (5), a request head is at most 16 KiB, at most --max-connections connections are served at
once (256; beyond that 503), at most --max-uploads tables come in at once (4; beyond that 429), and a table is
written to disk as it arrives.
    genesis api-token show                # the bearer token (created on first start, mode 0600)
    genesis api-token rotate              # a new token; the old one is refused at once
"""

from __future__ import annotations

import argparse
import sys

from genesis_core.registry import COMMANDS


@COMMANDS.register("service")
def add_service_commands(sub) -> None:
    s = sub.add_parser("serve", help="the HTTP API (FastAPI on uvicorn), bound to 127.0.0.1 by default",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    s.add_argument("--port", type=int, default=8700, help="port (default 8700)")
    s.add_argument("--max-upload-mb", type=float, default=200.0, help="largest table body, MiB (default 200)")
    s.add_argument("--max-rows", type=int, default=1_000_000, help="most rows one request may ask for")
    s.add_argument("--max-jobs", type=int, default=32, help="most syntheses the API may have queued or running")
    s.add_argument("--max-uploads", type=int, default=4, help="most tables received at once (default 4)")
    s.add_argument("--header-timeout", type=float, default=10.0,
                   help="seconds a connection may take to send a whole request head (default 10)")
    s.add_argument("--body-timeout", type=float, default=30.0,
                   help="seconds a request body may fall silent (default 30)")
    s.add_argument("--keep-alive", type=float, default=5.0, help="seconds an idle connection is kept (default 5)")
    s.add_argument("--max-connections", type=int, default=256,
                   help="connections served at once; beyond it 503 (default 256)")
    s.set_defaults(func=cmd_serve)
    t = sub.add_parser("api-token", help="the HTTP API's bearer token: show or rotate",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("action", choices=["show", "rotate"], help="show: print it; rotate: replace it")
    t.set_defaults(func=cmd_token)


def cmd_token(args: argparse.Namespace) -> int:
    from genesis_core.service.auth import ensure_token, rotate_token, token_path
    from genesis_core.store.workspace import Workspace

    ws = Workspace()
    token = rotate_token(ws) if args.action == "rotate" else ensure_token(ws)
    print(token)
    print(f"({'new token written to' if args.action == 'rotate' else 'from'} {token_path(ws)})", file=sys.stderr)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from genesis_core.errors import CLIError
    from genesis_core.service.app import Limits, create_app
    from genesis_core.service.auth import token_path
    from genesis_core.store.workspace import Workspace

    from genesis_core.service.protocol import Bounds

    numbers = {"--max-upload-mb": args.max_upload_mb, "--max-rows": args.max_rows, "--max-jobs": args.max_jobs,
               "--max-uploads": args.max_uploads, "--header-timeout": args.header_timeout,
               "--body-timeout": args.body_timeout, "--keep-alive": args.keep_alive,
               "--max-connections": args.max_connections}
    bad = [k for k, v in numbers.items() if not v > 0]
    if bad:
        raise CLIError(f"{', '.join(bad)} must be positive")
    ws = Workspace()
    app = create_app(ws, Limits(max_upload_bytes=int(args.max_upload_mb * 2**20), max_rows=args.max_rows,
                                max_active_jobs=args.max_jobs, max_uploads=args.max_uploads))
    bounds = Bounds(header_timeout_s=args.header_timeout, body_timeout_s=args.body_timeout,
                    keep_alive_s=args.keep_alive, max_connections=args.max_connections)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}: other machines can reach this API (with the token)", file=sys.stderr)
    print(f"Genesis Workbench API on http://{args.host}:{args.port} (docs: /docs); bearer token in {token_path(ws)}",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False,
                **bounds.uvicorn_options())
    return 0
