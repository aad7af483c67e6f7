"""A synthesis's release record (see `tabular/releases/records.py`): built from its config and report, written by the
job (`tabular_synthesis`) and by `genesis generate`, so every synthesis has one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from genesis_core.config import to_dict
from genesis_core.tabular.releases import records as releases
from genesis_core.store.files import sha256_file

MEASURES = ("rows", "k_anonymity", "exact_copy_rate", "exact_copy_rate_holdout_baseline", "dcr_share_closer_to_train",
            "dcr_share_ideal", "membership_auc", "reidentification_rate", "attribute_inference", "nndr_p05",
            "share_closer_to_train", "verdicts", "note")


def input_fields(config: Any) -> tuple[str, dict[str, Any]]:
    """(the dataset's name, {source, sha256, ...}) of a synthesis's input; several tables hash together."""
    import hashlib

    from genesis_core.tabular.data.uploads import display_name

    sources = list(config.sources) if getattr(config, "sources", ()) else [config.source]
    digests, names = [], []
    for source in sources:
        if source.startswith("demo:"):
            from genesis_core.tabular.data.demos import load_demo

            digests.append(releases.frame_sha256(load_demo(source[5:])))
            names.append(source)
        elif Path(source).is_dir():
            files = sorted(p for p in Path(source).iterdir() if p.suffix.lower() in (".csv", ".parquet"))
            digests.append(hashlib.sha256("".join(sha256_file(p) for p in files).encode()).hexdigest())
            names.append(Path(source).name)
        else:
            digests.append(sha256_file(source))
            names.append(display_name(source))
    digest = digests[0] if len(digests) == 1 else hashlib.sha256("".join(digests).encode()).hexdigest()
    return " + ".join(names), {"source": sources[0] if len(sources) == 1 else sources, "sha256": digest}


def record_release(workspace, config: Any, report: dict[str, Any], synthetic: Path, run: str = "", job: str = "",
                   origin: str = "job") -> dict[str, Any]:
    """Write the release record of a finished synthesis; `synthetic` is its synthetic CSV (or folder of CSVs)."""
    from genesis_core.tabular.pipeline import report_metrics

    meta = report.get("meta", {})
    dataset, input_ = input_fields(config)
    input_.update({"rows": meta.get("rows_input", sum(meta.get("tables", {}).values())),
                   "rows_train": meta.get("rows_train"), "rows_holdout": meta.get("rows_holdout")})
    if synthetic.is_dir():
        files = sorted(synthetic.glob("*.csv"))
        import hashlib

        output = {"sha256": hashlib.sha256("".join(sha256_file(p) for p in files).encode()).hexdigest(),
                  "rows": meta.get("rows_synthetic"), "file": str(synthetic)}
    else:
        output = releases.output_fields(synthetic, meta.get("rows_synthetic", 0))
    schema = report.get("schema") or [{"name": c, "kind": "sequence column"} for c in
                                      (meta.get("spec") or {}).get("channels", [])]
    privacy = dict((report.get("privacy") or {}).get("dp") or {})
    if not privacy:
        eps = getattr(config, "epsilon", 0.0)
        privacy = {"statement": f"differentially private at ε = {eps:g}" if eps else
                   "no differential privacy: the generator was not trained with DP"}
    if "statement" not in privacy and privacy.get("epsilon_total") is not None:
        privacy["statement"] = (f"differentially private: ε = {privacy['epsilon_total']:g}, δ = {privacy.get('delta', 0):g}"
                                f" ({privacy.get('mechanism', getattr(config, 'generator', ''))})"
                                + (f"; {privacy['choice']}" if privacy.get("choice") else ""))
    p = report.get("privacy") or {}
    privacy["measures"] = {k: p[k] for k in MEASURES if k in p}
    privacy["quasi_identifiers"] = list(getattr(config, "quasi_identifiers", ()))
    privacy["sensitive"] = list(getattr(config, "sensitive", ()))
    plain = to_dict(config)
    return releases.write_release(
        workspace, dataset=dataset, input_=input_, output=output, schema=schema,
        generator=meta.get("generator", getattr(config, "generator", "")), reason=meta.get("reason", ""),
        options=meta.get("options", {}), config=plain, seed=int(plain.get("trainer", {}).get("seed", 0)),
        privacy=privacy, figures=report_metrics(report), run=run, job=job, origin=origin)


def release_rows(workspace, release_id: str):
    """The synthetic rows of a release, checked against the sha256 it recorded."""
    from genesis_core.tabular.data.ingest import TableError, read_table

    release = releases.get_release(workspace, release_id)
    path = Path(release["output"].get("file", ""))
    if not path.is_file():
        raise TableError(f"release {release['id']}'s rows are gone from the workspace.")
    if sha256_file(path) != release["output"]["sha256"]:
        raise TableError(f"release {release['id']}'s rows changed since the release (sha256 differs).")
    return read_table(path)[0]


def read_table_ref(ref: str, workspace, paths: bool = True):
    """A table named by reference: release:ID (its synthetic rows), demo:NAME, a stored table's id (tbl-...), or
    (with `paths`, as the CLI and the pages allow) a CSV/Parquet path. What `genesis drift`, POST /v1/drift and
    the Releases page read; the HTTP service passes paths=False, so a request can name only what the workspace
    holds."""
    from genesis_core.tabular.data.ingest import TableError
    from genesis_core.tabular.pipeline import read_source

    if ref.startswith("release:"):
        return release_rows(workspace, ref[len("release:"):])
    if ref.startswith("demo:"):
        return read_source(ref)[0]
    if ref.startswith("tbl-") and (not paths or not Path(ref).exists()):
        from genesis_core.tabular.data.uploads import table_source

        return read_source(table_source(workspace, ref))[0]
    if not paths:
        raise TableError("it is not a table of this workspace (a path is never read here); name a stored "
                         "table's id (tbl-...), demo:NAME or release:ID.")
    return read_source(str(Path(ref).resolve()))[0]
