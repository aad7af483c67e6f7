"""`genesis serve` and `genesis api-token show | rotate`: the HTTP API of the workspace.

    genesis serve                         # http://127.0.0.1:8700, docs at /docs
    genesis serve --port 9000 --max-jobs 8
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
    s.add_argument("--max-jobs", type=int, default=32, help="most syntheses a token may have queued or running")
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

    if min(args.max_upload_mb, args.max_rows, args.max_jobs) <= 0:
        raise CLIError("--max-upload-mb, --max-rows and --max-jobs must be positive")
    ws = Workspace()
    app = create_app(ws, Limits(max_upload_bytes=int(args.max_upload_mb * 2**20), max_rows=args.max_rows,
                                max_active_jobs=args.max_jobs))
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"note: listening on {args.host}: other machines can reach this API (with the token)", file=sys.stderr)
    print(f"Genesis Workbench API on http://{args.host}:{args.port} (docs: /docs); bearer token in {token_path(ws)}",
          file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
