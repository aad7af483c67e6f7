"""What every command group prints with: aligned text tables, data frames, figures, and a job followed as a bar."""

from __future__ import annotations

import sys
from typing import Any

from genesis_core.formatting import number


def table(rows: list[list[Any]], header: list[str]) -> str:
    """Rows under a header, each column as wide as its widest cell."""
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def print_frame(df) -> None:
    """A data frame without its index, floats to four significant digits."""
    print(df.to_string(index=False, float_format=lambda v: number(v)))


def follow(job_id: str, ws) -> int:
    """Show a job's progress as a terminal bar until it ends; Ctrl-C detaches (the job keeps running)."""
    from tqdm import tqdm

    from genesis_core.jobs import api

    bar = tqdm(total=1, unit="step", dynamic_ncols=True, file=sys.stderr)

    def update(job):
        bar.total = max(job.total, 1)
        bar.set_description(job.status + (" (cancelling)" if job.status == "running" and job.cancel_requested else
                                          f" · {job.phase[:50]}" if job.phase else ""))
        if job.metrics.get("loss") is not None:
            bar.set_postfix(loss=f"{job.metrics['loss']:.4g}", refresh=False)
        bar.update(job.step - bar.n)

    try:
        job = api.wait(job_id, ws, on_update=update)
    except KeyboardInterrupt:
        bar.close()
        print(f"\ndetached; the job keeps running. Watch it with: genesis jobs show {job_id}")
        return 0
    bar.close()
    print(f"job {job.id}: {job.status}" + (f" — {job.error}" if job.error else ""))
    metrics = {k: v for k, v in job.metrics.items() if k.startswith("eval/")}
    if metrics:
        print("  " + ", ".join(f"{k} = {v:.4g}" for k, v in metrics.items()))
    print(f"  run: {job.run_id}")
    return 0 if job.status == "succeeded" else 1
