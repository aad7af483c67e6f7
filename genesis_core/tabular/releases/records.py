"""Versioned releases of synthetic data, with their lineage: one JSON record per synthesis, in `releases/`.

A release says what went in (the input's sha256, rows, schema), what made it (generator, config, seed, the
package versions), what came out (the synthetic file's sha256 and rows), what privacy it claims (the DP
statement, or that there is none) and what the report measured. Releases of the same input are numbered
(v1, v2, ...) and each names the one before it (its parent), so `diff A B` says what changed between them.

Records are written once, atomically, and read back with a check: a record that is not valid JSON, or whose
fields are missing, is reported as damaged, never used.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from genesis_core.errors import WorkbenchError
from genesis_core.store.files import atomic_write_text, safe_name, sha256_file

PACKAGES = ("genesis-workbench", "sdv", "sdmetrics", "torch", "pandas", "numpy", "scikit-learn", "opacus", "mbi",
            "rdt", "copulas", "ctgan")
REQUIRED = ("id", "created", "dataset", "version", "input", "output", "generator", "config", "seed", "packages",
            "privacy", "figures", "lineage", "schema")


class ReleaseNotFoundError(WorkbenchError, KeyError):
    """No release with that id."""


class ReleaseDamagedError(WorkbenchError, ValueError):
    """A release record that is not what the workbench wrote."""


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def frame_sha256(frame) -> str:
    """The sha256 of a table held in memory (a demo): of its CSV text, so the same table always hashes alike."""
    return hashlib.sha256(frame.to_csv(index=False).encode("utf-8")).hexdigest()


def releases_dir(workspace) -> Path:
    path = Path(workspace.root) / "releases"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ReleaseDamagedError(f"release {path.stem} is damaged: its record is not readable JSON "
                                  f"({type(exc).__name__}).") from None
    if not isinstance(record, dict) or any(k not in record for k in REQUIRED) or record.get("id") != path.stem:
        raise ReleaseDamagedError(f"release {path.stem} is damaged: its record lacks fields the workbench writes.")
    return record


def list_releases(workspace, dataset_sha256: str = "") -> tuple[list[dict[str, Any]], list[str]]:
    """(releases newest first, one sentence per damaged record); with `dataset_sha256`, one input's releases."""
    good, damaged = [], []
    for path in releases_dir(workspace).glob("rel-*.json"):
        try:
            record = _read(path)
        except ReleaseDamagedError as exc:
            damaged.append(str(exc))
            continue
        if not dataset_sha256 or record["input"].get("sha256") == dataset_sha256:
            good.append(record)
    good.sort(key=lambda r: (r["created"], r["id"]), reverse=True)
    return good, sorted(damaged)


def get_release(workspace, release_id: str) -> dict[str, Any]:
    release_id = safe_name(release_id, "release id")
    path = releases_dir(workspace) / f"{release_id}.json"
    if not path.is_file():
        matches = [p for p in releases_dir(workspace).glob(f"{release_id}*.json")]
        if len(matches) != 1:
            raise ReleaseNotFoundError(f"no release {release_id!r} in this workspace (`genesis releases list` shows "
                                       "them)." if not matches else f"{release_id!r} names {len(matches)} releases; "
                                                                    "give more of the id.")
        path = matches[0]
    return _read(path)


def release_for_run(workspace, run_id: str) -> dict[str, Any] | None:
    return next((r for r in list_releases(workspace)[0] if r["lineage"].get("run") == run_id), None)


def write_release(workspace, *, dataset: str, input_: dict[str, Any], output: dict[str, Any], schema: list[dict],
                  generator: str, reason: str, options: dict[str, Any], config: dict[str, Any], seed: int,
                  privacy: dict[str, Any], figures: dict[str, float], run: str = "", job: str = "",
                  origin: str = "job") -> dict[str, Any]:
    """Record a release; its version counts the earlier releases of the same input, its parent is the latest."""
    earlier, _ = list_releases(workspace, input_["sha256"])
    record = {
        "id": f"rel-{time.strftime('%Y%m%d')}-{secrets.token_hex(4)}", "created": time.time(),
        "dataset": dataset, "version": 1 + max((r["version"] for r in earlier), default=0),
        "input": input_, "output": output,
        "schema": [{"column": c["name"], "kind": c["kind"], "missing_rate": c.get("missing_rate", 0.0),
                    **({"pii": c["pii"]} if c.get("pii") else {})} for c in schema],
        "generator": generator, "reason": reason, "options": options, "config": config, "seed": seed,
        "packages": package_versions(), "privacy": privacy, "figures": figures,
        "lineage": {"parent": earlier[0]["id"] if earlier else None, "run": run, "job": job, "origin": origin},
    }
    atomic_write_text(releases_dir(workspace) / f"{record['id']}.json", json.dumps(record, indent=2, default=str))
    return record


def output_fields(path: Path, rows: int) -> dict[str, Any]:
    return {"sha256": sha256_file(path), "rows": rows, "bytes": path.stat().st_size, "file": str(path)}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def diff_releases(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """What differs between two releases: input, schema (columns added, removed, retyped), generator, config,
    seed, package versions, privacy, and the report's figures (with b - a)."""
    changes = []
    for section in ("input", "generator", "options", "config", "seed", "packages", "privacy"):
        va, vb = a.get(section), b.get(section)
        if section == "privacy":  # its measures are figures, compared below through the report's figures
            va, vb = ({k: v for k, v in (x or {}).items() if k != "measures"} for x in (va, vb))
        fa, fb = _flat(va, section), _flat(vb, section)
        for key in sorted(set(fa) | set(fb)):
            if fa.get(key) != fb.get(key):
                changes.append({"field": key, "a": fa.get(key), "b": fb.get(key)})
    ka = {c["column"]: c["kind"] for c in a["schema"]}
    kb = {c["column"]: c["kind"] for c in b["schema"]}
    schema = {"added": sorted(set(kb) - set(ka)), "removed": sorted(set(ka) - set(kb)),
              "retyped": [{"column": c, "a": ka[c], "b": kb[c]} for c in sorted(set(ka) & set(kb)) if ka[c] != kb[c]]}
    figures = []
    for key in sorted(set(a["figures"]) | set(b["figures"])):
        va, vb = a["figures"].get(key), b["figures"].get(key)
        figures.append({"figure": key, "a": va, "b": vb,
                        "change": None if va is None or vb is None else vb - va})
    same_input = a["input"].get("sha256") == b["input"].get("sha256")
    return {"a": a["id"], "b": b["id"], "same_input": same_input,
            "b_descends_from_a": b["lineage"].get("parent") == a["id"],
            "a_descends_from_b": a["lineage"].get("parent") == b["id"],
            "changes": changes, "schema": schema, "figures": figures}
