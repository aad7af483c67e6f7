"""Compliance evidence for a release: what was measured, how each measure bears on the re-identification tests
of GDPR Recital 26 and on HIPAA Safe Harbor's list of identifiers, and what none of it covers.

This is evidence for the person who decides, never a certificate: whether data is anonymous under GDPR, or
de-identified under HIPAA (by Safe Harbor or by an expert's determination), is a legal judgement about the data
and the means reasonably likely to be used against it, which no figure here settles.

GDPR Recital 26 asks whether a person is identifiable "by all the means reasonably likely to be used"; the
Article 29 Working Party's Opinion 05/2014 on anonymisation techniques names three risks to test: singling out,
linkability and inference. HIPAA's Safe Harbor (45 CFR 164.514(b)(2)) lists 18 kinds of identifiers to remove.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

DISCLAIMER = ("Evidence, not a certificate: these figures support a decision on anonymisation or de-identification; "
              "they do not make one, and no one here attests that the release is anonymous.")

# (identifier, how a column holding it is recognised: schema kind / pii type, or a name pattern)
SAFE_HARBOR: tuple[tuple[str, dict[str, tuple[str, ...]], str], ...] = (
    ("Names", {"pii": ("name", "first_name", "last_name")}, r"(^|_)(first|last|full|sur)?_?name($|_)"),
    ("Geographic subdivisions smaller than a state (street, city, county, ZIP code)", {},
     r"zip|post_?code|postal|street|address|city|county|precinct|geo|latitude|longitude|lat$|lon$"),
    ("Dates (except year) directly related to an individual, and ages over 89", {"kind": ("datetime",)},
     r"birth|dob|admission|discharge|death|date"),
    ("Telephone numbers", {"pii": ("phone",)}, r"phone|mobile|tel($|_)"),
    ("Fax numbers", {}, r"fax"),
    ("Email addresses", {"pii": ("email",)}, r"e_?mail"),
    ("Social Security numbers", {}, r"ssn|social_?security"),
    ("Medical record numbers", {}, r"mrn|medical_?record"),
    ("Health plan beneficiary numbers", {}, r"beneficiary|health_?plan|insurance_?(id|number)"),
    ("Account numbers", {}, r"account|iban|card_?number"),
    ("Certificate or license numbers", {}, r"licen[cs]e|certificate"),
    ("Vehicle identifiers and serial numbers, including license plates", {}, r"vin$|vehicle|plate"),
    ("Device identifiers and serial numbers", {}, r"device|serial|imei"),
    ("Web URLs", {}, r"url|website|homepage"),
    ("IP addresses", {}, r"(^|_)ip($|_)|ip_?address"),
    ("Biometric identifiers (finger and voice prints)", {}, r"biometric|fingerprint|voice_?print"),
    ("Full-face photographs and comparable images", {}, r"photo|image|face"),
    ("Any other unique identifying number, characteristic or code", {"kind": ("id",)}, r"(^|_)id($|_)|identifier"),
)


def _snake(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()).strip("_")


def _treatment(column: dict[str, Any]) -> str:
    if column["kind"] == "id":
        return "new ids are written (no real id is released)"
    if column["kind"] == "pii":
        return "replaced by fake values (no real value is released)"
    if column["kind"] == "text":
        return "left out (free text is not released)"
    return "synthesised: released values come from the generator, but the column is still released"


def safe_harbor(schema: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each of the 18 identifiers: the release's columns that look like it (by kind or by name), and how the
    synthesis treated them."""
    rows = []
    for identifier, by_kind, pattern in SAFE_HARBOR:
        hits = []
        for c in schema:
            kind_hit = c["kind"] in by_kind.get("kind", ()) or (c["kind"] == "pii" and c.get("pii") in by_kind.get("pii", ()))
            if kind_hit or re.search(pattern, _snake(c["column"])):
                hits.append(f"{c['column']}: {_treatment(c)}")
        rows.append({"identifier": identifier, "found": bool(hits),
                     "columns": hits or ["no column looks like one (by type or name); values inside other columns "
                                         "were not searched"]})
    return rows


def _measure(rows: list, risk: str, measure: str, value: Any, reading: str) -> None:
    rows.append({"risk": risk, "measure": measure, "value": value, "reading": reading})


def gdpr_risks(release: dict[str, Any]) -> list[dict[str, Any]]:
    """The measured figures, each under the Recital 26 risk (Opinion 05/2014) it bears on."""
    p = release["privacy"]
    m = p.get("measures", {})
    rows: list[dict[str, Any]] = []
    k = m.get("k_anonymity")
    if k:
        _measure(rows, "singling out", f"k-anonymity on {', '.join(p.get('quasi_identifiers', []))}", k.get("k"),
                 f"every combination of the quasi-identifiers in the release is shared by at least {k.get('k')} rows "
                 f"({k.get('rows_in_groups_below_5', 0)} rows sit in groups smaller than 5)")
    else:
        _measure(rows, "singling out", "k-anonymity", None, "not measured: no quasi-identifiers were named "
                 "(name them with --quasi-identifiers)")
    if "exact_copy_rate" in m:
        base = m.get("exact_copy_rate_holdout_baseline")
        _measure(rows, "singling out", "exact copies of training rows", m["exact_copy_rate"],
                 f"{m['exact_copy_rate']:.1%} of released rows repeat a training row"
                 + (f", against {base:.1%} of real unseen rows by chance" if base is not None else ""))
    if "dcr_share_closer_to_train" in m:
        _measure(rows, "singling out", "DCR share closer to training", m["dcr_share_closer_to_train"],
                 f"near {m.get('dcr_share_ideal', 0.5):.0%} when rows are drawn from the population, not from the "
                 "people in the training data")
    if "nndr_p05" in m:
        _measure(rows, "singling out", "NNDR (5th percentile)", m["nndr_p05"],
                 "near 0 means a released row sits on one real person")
    if "membership_auc" in m:
        _measure(rows, "linkability", "membership inference AUC", m["membership_auc"],
                 "0.5: an attacker cannot tell whether a person's record was used")
    else:
        _measure(rows, "linkability", "membership inference AUC", None,
                 "not measured: it needs real rows the generator never saw (--holdout-fraction)")
    if "reidentification_rate" in m:
        _measure(rows, "linkability", "re-identification rate", m["reidentification_rate"],
                 "training rows unique on the quasi-identifiers that the release matches exactly once")
    for a in m.get("attribute_inference", []):
        _measure(rows, "inference", f"attribute inference of {a['column']}", a["attack"],
                 f"{a['metric']} of guessing it from the quasi-identifiers through the release, against "
                 f"{a['baseline']:.3f} with no data")
    if not m.get("attribute_inference"):
        _measure(rows, "inference", "attribute inference", None, "not measured: name sensitive columns and "
                 "quasi-identifiers")
    eps = p.get("epsilon_total") or p.get("epsilon")
    _measure(rows, "all three", "differential privacy ε", eps,
             f"a formal bound on what the release reveals about any one person (ε = {eps:g})" if eps else
             "none: the generator was not trained with differential privacy, so no formal bound holds")
    return rows


NOT_COVERED = (
    "Linkage with data outside this release and its input (registers, social media, other releases): only the "
    "named quasi-identifiers were tested.",
    "Values hidden inside other columns (an identifier typed into a free-text or category column): columns are "
    "recognised by type and name, their values are not searched.",
    "Repeated releases of the same input: each release's figures stand alone; their privacy losses add up.",
    "The generator itself: releasing the fitted model is not covered by figures measured on its rows.",
    "A legal assessment: neither an expert determination under HIPAA 164.514(b)(1) nor a data-protection "
    "impact assessment under the GDPR.",
)


def evidence(release: dict[str, Any]) -> dict[str, Any]:
    """The evidence report of a release record (tabular/releases/records.py)."""
    risks = gdpr_risks(release)
    identifiers = safe_harbor(release["schema"])
    unmeasured = [r["measure"] for r in risks if r["value"] is None]
    return {"release": release["id"], "dataset": release["dataset"], "version": release["version"],
            "input_sha256": release["input"]["sha256"], "generator": release["generator"],
            "privacy_statement": release["privacy"].get("statement", ""), "disclaimer": DISCLAIMER,
            "gdpr_recital_26": risks, "hipaa_safe_harbor": identifiers,
            "identifiers_found": [r["identifier"] for r in identifiers if r["found"]],
            "not_measured": unmeasured, "not_covered": list(NOT_COVERED)}


def to_html(report: dict[str, Any]) -> str:
    from genesis_core.tabular.evaluation.html import page, table

    harbor = [{"identifier": r["identifier"], "found": "yes" if r["found"] else "no",
               "columns": "; ".join(r["columns"])} for r in report["hipaa_safe_harbor"]]
    missing = "".join(f"<li>{html.escape(x)}</li>" for x in report["not_covered"])
    return page(f"Compliance evidence: release {report['release']}", f"""
<p class="note">{html.escape(report['disclaimer'])}</p>
<p>{html.escape(report['dataset'])} v{report['version']} (input sha256 {report['input_sha256'][:16]}…), generator
{html.escape(report['generator'])}. {html.escape(report['privacy_statement'])}</p>
<h2>GDPR Recital 26: singling out, linkability, inference</h2>
{table(report['gdpr_recital_26'], ['risk', 'measure', 'value', 'reading'])}
<h2>HIPAA Safe Harbor: the 18 identifiers</h2>{table(harbor, ['identifier', 'found', 'columns'])}
<h2>Not covered</h2><ul>{missing}</ul>
<details><summary>JSON</summary><pre>{html.escape(json.dumps(report, indent=2, default=str))}</pre></details>""")
