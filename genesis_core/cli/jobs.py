"""`genesis ray status | start | stop`: the workspace's own local Ray instance (bound to 127.0.0.1).

    genesis ray status     # its address and processes, or "not running"
    genesis ray start      # start it now (jobs with --backend ray also start it on first use)
    genesis ray stop       # stop it, and only it: other Ray instances on this machine are left alone
"""

from __future__ import annotations

import argparse

from genesis_core.registry import COMMANDS


@COMMANDS.register("ray")
def add_ray_commands(sub) -> None:
    p = sub.add_parser("ray", help="the workspace's local Ray instance: status, start, stop",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("action", choices=["status", "start", "stop"],
                   help="status: is it running; start: start it; stop: stop it (no other Ray instance)")
    p.set_defaults(func=cmd_ray)


def cmd_ray(args: argparse.Namespace) -> int:
    from genesis_core.jobs.backends import local_cluster, stop_local_cluster
    from genesis_core.store.workspace import Workspace

    ws = Workspace()
    if args.action == "stop":
        stopped = stop_local_cluster(ws)
        print(f"stopped the workspace's local Ray instance ({stopped} processes)" if stopped
              else "no local Ray instance of this workspace was running")
        return 0
    address = local_cluster(ws, start=args.action == "start")
    print(f"local Ray instance at {address}" if address else "no local Ray instance of this workspace is running")
    return 0
