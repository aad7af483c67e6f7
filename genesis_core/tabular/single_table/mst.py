"""MST (McKenna, Miklau and Sheldon 2021; the mechanism that won the NIST 2018 differential-privacy synthetic
data challenge) on the `mbi` package (Private-PGM, Apache-2.0).

  1. discretise: numbers and dates into equal-width bins between private bounds (or bounds the user
     declares), a bin for exactly 0, a bin for each point mass (an exact value holding at least 2% of the
     rows, released by a stability-based histogram: noisy counts over a threshold, 10% of rho and a quarter
     of delta), a bin for missing values; categories as they are, plus a missing category
  2. measure every one-way marginal with Gaussian noise (a third of the zCDP budget); categories whose noisy
     count does not clear a threshold merge into one "rare" bucket (released as missing, never as a value)
  3. select a maximum spanning tree of pairs with the exponential mechanism, scored by how badly a model of
     the one-way marginals explains each pair (a third)
  4. measure the tree's two-way marginals (a third), fit a graphical model to all measurements with mbi's
     mirror descent, and keep its marginals on the tree
  5. sample along the tree (a root, then each column given its parent), numbers uniformly within their bin

Budget: (epsilon, delta) becomes rho-zCDP (tight conversion); 10% of rho buys the ranges of numerical
columns the user did not declare (noisy histograms over fixed cells, privacy_accounting.private_range); the category
thresholds add at most half of delta. With categories "public", category sets and observed ranges are
declared public instead, and the DP statement says so. The saved model is the fitted tree marginals (safetensors) and the bins (JSON): no rows.
"""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from genesis_core.registry import GENERATORS
from genesis_core.tabular.single_table.privacy_accounting import cdp_rho, exponential_mechanism, private_range
from genesis_core.tabular.data.encoding import numeric
from genesis_core.tabular.single_table.base import GeneratorError, Progress, TabularGenerator

MISSING, RARE = "<missing>", "<rare>"
BOUNDS_SHARE = 0.1  # of rho, for the bounds of numerical columns the user did not declare
MASSES_SHARE = 0.1  # of rho, for the point masses of numerical columns (exact values with many rows)
MASS_SHARE = 0.02  # a point mass holds at least this share of a column's rows
MAX_MASSES = 16
MASS_WORTH = 0.25  # no point masses are measured (or paid for) when one would need more than this share to show


def _mbi():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", True)  # mbi's advice for stable estimation
    jax.config.update("jax_enable_compilation_cache", False)  # and for its many small programs
    import mbi

    return mbi


def draw_rows(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One code per row of `weights` (rows x codes, nonnegative), drawn with probability proportional to that
    row's weights by the inverse CDF (a row of zeros draws uniformly)."""
    weights = weights + 1e-12
    cum = np.cumsum(weights / weights.sum(1, keepdims=True), 1)
    return np.minimum((rng.random((len(weights), 1)) > cum).sum(1), weights.shape[1] - 1)


@GENERATORS.register("mst")
class MSTGenerator(TabularGenerator):
    name = "mst"
    private = True

    def __init__(self, seed: int = 0, epochs: int = 300, epsilon: float = 1.0, delta: float | None = None,
                 categories: str = "dp", bounds: dict | None = None, bins: int = 16, iters: int = 2000,
                 **options: Any):
        super().__init__(seed, epochs, epsilon=epsilon, delta=delta, categories=categories, bins=bins, iters=iters,
                         bounds=bounds or {}, **options)
        if epsilon <= 0:
            raise GeneratorError("epsilon must be positive")
        if categories not in ("public", "dp"):
            raise GeneratorError("categories must be 'public' or 'dp'")
        self.columns_meta: list[dict[str, Any]] = []
        self.edges: list[tuple[int, int]] = []
        self.marginals: dict[str, np.ndarray] = {}
        self.privacy: dict[str, Any] = {}

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        return {"bins": trial.suggest_int("bins", 8, 32), "iters": trial.suggest_int("iters", 1000, 4000, log=True)}

    # -- discretisation ------------------------------------------------------------------------
    def _discretise(self, frame: pd.DataFrame, rho_bounds: float, rng: np.random.Generator,
                    rho_masses: float = 0.0) -> np.ndarray:
        """Columns as codes. Numbers: whole numbers spanning at most 64 values get a bin each; others `bins`
        equal-width bins, plus a bin for exactly 0 (a value nobody needs the data to know) when 0 is inside,
        plus a bin for each point mass (an exact value holding a large share of the rows: released when its
        noisy count clears a threshold, see `_point_masses`, or declared public with the categories); a bin
        for missing values last."""
        declared, bins = dict(self.options["bounds"]), int(self.options["bins"])
        public = self.options["categories"] == "public"
        paid = [c for c in self.model_schema if c.kind in ("numerical", "datetime") and c.name not in declared
                and not public]
        rho_each = rho_bounds / max(1, len(paid))
        numbers = [c for c in self.model_schema if c.kind == "numerical"]
        rho_mass_each = rho_masses / max(1, len(numbers))
        delta_mass_each = getattr(self, "_delta_masses", 0.0) / max(1, len(numbers))
        self.columns_meta, codes = [], []
        for spec in self.model_schema:
            s = frame[spec.name]
            if spec.kind in ("numerical", "datetime"):
                x = numeric(s).to_numpy(dtype=float)
                if spec.name in declared:
                    lo, hi, source = float(declared[spec.name][0]), float(declared[spec.name][1]), "declared"
                elif public:
                    lo, hi, source = float(np.nanmin(x)), float(np.nanmax(x)), "declared"  # observed, declared public
                else:
                    lo, hi = private_range(x, rng, rho=rho_each)
                    source = f"paid (noisy histogram over fixed cells, ρ={rho_each:.3g})"
                meta: dict[str, Any] = {"column": spec.name, "kind": spec.kind, "bounds": source}
                if spec.integer and spec.kind == "numerical" and hi - lo + 1 <= 64:
                    lo, hi = math.floor(lo), math.ceil(hi)
                    meta.update({"integers": [lo, hi], "size": int(hi - lo + 2)})
                    code = np.where(np.isnan(x), hi - lo + 1, np.clip(np.round(np.nan_to_num(x)) - lo, 0, hi - lo))
                else:
                    edges = np.linspace(lo, hi, bins + 1)
                    zero = bool(lo < 0 < hi or lo == 0 or hi == 0) and spec.kind == "numerical"
                    masses: list[float] = []
                    if spec.kind == "numerical":
                        masses = (self._point_masses(x, lo, hi, rng, rho_mass_each, delta_mass_each) if not public
                                  else sorted({float(v) for v in [*spec.point_masses, *spec.levels[:MAX_MASSES]]}))
                        masses = [m for m in masses if m != 0 and lo <= m <= hi][:MAX_MASSES]
                    code = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, bins - 1)
                    if zero:
                        code = np.where(x == 0, bins, code)
                    for i, m in enumerate(masses):
                        code = np.where(x == m, bins + int(zero) + i, code)
                    code = np.where(np.isnan(x), bins + int(zero) + len(masses), code)
                    meta.update({"edges": edges.tolist(), "zero_bin": zero, "masses": masses,
                                 "size": bins + 1 + int(zero) + len(masses)})
                self.columns_meta.append(meta)
            else:
                text = s.astype(str).where(s.notna(), MISSING)
                values = sorted(set(text) - {MISSING}) + [MISSING]
                code = text.map({v: i for i, v in enumerate(values)}).to_numpy()
                self.columns_meta.append({"column": spec.name, "kind": spec.kind, "values": values,
                                          "size": len(values)})
            codes.append(np.asarray(code).astype(np.int64))
        return np.stack(codes, 1)

    @staticmethod
    def _mass_threshold(rho: float, delta: float) -> float:
        """The noisy count a value held by one row exceeds with probability `delta` (Gaussian noise, `rho`-zCDP)."""
        return 1 + math.sqrt(1 / (2 * rho)) * float(norm.isf(delta))

    @staticmethod
    def _point_masses(x: np.ndarray, lo: float, hi: float, rng: np.random.Generator, rho: float,
                      delta: float) -> list[float]:
        """The exact values of a numerical column that hold a large share of its rows, paid from the budget:
        every distinct value's count gets Gaussian noise (`rho`-zCDP; a row counts for one value), and a value is
        released when its noisy count clears both a threshold that a value held by one row passes with
        probability at most `delta` (a stability-based histogram) and MASS_SHARE of the rows. At most
        MAX_MASSES, the largest noisy counts first."""
        if rho <= 0 or delta <= 0:
            return []
        x = x[~np.isnan(x) & (x >= lo) & (x <= hi)]
        if len(x) == 0:
            return []
        values, counts = np.unique(x, return_counts=True)
        noisy = counts + rng.normal(0, math.sqrt(1 / (2 * rho)), len(counts))
        threshold = max(MSTGenerator._mass_threshold(rho, delta), MASS_SHARE * len(x))
        keep = np.flatnonzero(noisy >= threshold)
        keep = keep[np.argsort(-noisy[keep])][:MAX_MASSES]
        return sorted(float(v) for v in values[keep])

    # -- fit -----------------------------------------------------------------------------------
    def _prepare(self, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, float], np.random.Generator]:
        """The budget and the codes: (epsilon, delta) as rho-zCDP, the shares paid for the bounds and the point
        masses of numerical columns, and the table discretised with them. Returns (codes, the budget's parts:
        delta, rho, rho_bounds, rho_masses and rho_rest, what is left for the marginals; the random generator)."""
        o = self.options
        n = len(frame)
        delta = o["delta"] or min(1e-5, 1 / (10 * n))
        rng = np.random.default_rng(self.seed)
        needs_bounds = o["categories"] == "dp" and any(c.kind in ("numerical", "datetime") and c.name not in o["bounds"]
                                                      for c in self.model_schema)
        delta_main = delta / 2 if o["categories"] == "dp" else delta
        rho = cdp_rho(o["epsilon"], delta_main)
        numbers = sum(c.kind == "numerical" for c in self.model_schema)
        # point masses are paid for only where one could be released: when the threshold a mass must clear is
        # at most MASS_WORTH of the rows (it depends on the row count and the budget only, not on the values)
        needs_masses = o["categories"] == "dp" and numbers > 0 and self._mass_threshold(
            MASSES_SHARE * rho / numbers, delta / 4 / numbers) <= MASS_WORTH * n
        # the thresholds' half of delta: the category sets' and the point masses' (a quarter each when both)
        self._delta_masses = delta / 4 if needs_masses else 0.0
        rho_bounds = BOUNDS_SHARE * rho if needs_bounds else 0.0
        rho_masses = MASSES_SHARE * rho if needs_masses else 0.0
        data = self._discretise(frame, rho_bounds, rng, rho_masses)
        budget = {"delta": delta, "rho": rho, "rho_bounds": rho_bounds, "rho_masses": rho_masses,
                  "rho_rest": rho - rho_bounds - rho_masses}
        return data, budget, rng

    def _one_way(self, data: np.ndarray, scale: float, delta: float, rng: np.random.Generator):
        """Every column's one-way marginal with Gaussian noise of standard deviation `scale`; with private
        categories, the categories whose noisy count does not clear a threshold merge into the rare bucket.
        Returns (the codes after merging, the noisy marginals, the threshold or 0)."""
        k = data.shape[1]
        sizes = [m["size"] for m in self.columns_meta]
        one_way = [np.bincount(data[:, j], minlength=sizes[j]) + rng.normal(0, scale, sizes[j]) for j in range(k)]
        threshold = 0.0
        if self.options["categories"] == "dp":  # noisy counts decide which categories are released
            threshold = 1 + scale * float(norm.isf((delta / 2 - self._delta_masses) / max(1, k)))
            data, one_way = self._compress(data, one_way, threshold)
        return data, one_way, threshold

    def _statement(self, mechanism: str, budget: dict[str, float], threshold: float, covered: str) -> dict[str, Any]:
        """The DP statement's parts every marginal mechanism shares; `covered` names what the marginals bought."""
        o = self.options
        released = [m["column"] + " categories" for m in self.columns_meta if "values" in m]
        return {
            "mechanism": mechanism, "epsilon_target": o["epsilon"], "epsilon_total": o["epsilon"],
            "delta": budget["delta"], "rho": budget["rho"], "rho_bounds": budget["rho_bounds"],
            "rho_point_masses": budget["rho_masses"],
            "point_masses": {m["column"]: m["masses"] for m in self.columns_meta if m.get("masses")},
            "accountant": "zCDP (Canonne, Kamath and Steinke 2020 conversion)", "unit": "row",
            "covered": covered
                       + (", bounds of numerical columns" if budget["rho_bounds"] else "")
                       + (f", point masses of numerical columns (ρ={budget['rho_masses']:.3g}, noisy counts over a "
                          "threshold, at most δ/4)" if budget["rho_masses"] else "")
                       + ("; category sets (noisy counts over a threshold of "
                          f"{threshold:.1f}, at most δ/2)" if o["categories"] == "dp" else ""),
            "declared_public": sorted({f"{m['column']} bounds" for m in self.columns_meta if m.get("bounds") == "declared"}
                                      | (set(released) if o["categories"] == "public" else set())
                                      | {"the representation of values (integers, decimals, date grid, formats)"}),
        }

    def _drop_unmeasured_missing(self, one_way: list[np.ndarray], threshold: float, scale: float) -> None:
        """Post-processing: a missing-value code whose noisy count does not clear the threshold gets no mass, so a
        column without missing values does not sprout them."""
        cutoff = threshold if threshold else 3 * scale
        for j in range(len(self.columns_meta)):
            if one_way[j][self._missing_code(j)] < cutoff:
                self._drop_missing(j)

    def _fit(self, frame: pd.DataFrame, progress: Progress) -> None:
        mbi = _mbi()
        o = self.options
        progress(0, 4, "discretising")
        data, budget, rng = self._prepare(frame)
        delta, rho_rest = budget["delta"], budget["rho_rest"]
        sigma = math.sqrt(3 / (2 * rho_rest))  # each of the three parts: rho_rest / 3
        k = data.shape[1]
        # 1. one-way marginals, all columns at once (L2 sensitivity 1 with weights 1/sqrt(k))
        scale = sigma * math.sqrt(k)
        data, one_way, threshold = self._one_way(data, scale, delta, rng)
        sizes = [m["size"] for m in self.columns_meta]
        progress(1, 4, "selecting the pairs (maximum spanning tree, exponential mechanism)")
        attrs = [str(j) for j in range(k)]
        domain = mbi.Domain(attrs, sizes)
        dataset = mbi.Dataset({a: data[:, j] for j, a in enumerate(attrs)}, domain)
        log1 = [mbi.LinearMeasurement(one_way[j], (attrs[j],), stddev=scale) for j in range(k)]
        self.edges = self._select(mbi, domain, dataset, log1, rho_rest / 3, rng) if k > 1 else []
        progress(2, 4, f"measuring {len(self.edges)} pairs")
        scale2 = sigma * math.sqrt(max(1, len(self.edges)))
        log2 = [mbi.LinearMeasurement(dataset.project([attrs[a], attrs[b]]).datavector()
                                      + rng.normal(0, scale2, sizes[a] * sizes[b]), (attrs[a], attrs[b]), stddev=scale2)
                for a, b in self.edges]
        progress(3, 4, "fitting the graphical model (mirror descent)")
        model = mbi.estimation.MirrorDescent().estimate(domain, log1 + log2, iters=int(o["iters"]))
        self.marginals = {f"{j}": np.array(model.project([attrs[j]]).datavector(), dtype=float) for j in range(k)}
        for a, b in self.edges:
            self.marginals[f"{a},{b}"] = np.array(model.project([attrs[a], attrs[b]]).datavector(flatten=False),
                                                    dtype=float)
        self._drop_unmeasured_missing(one_way, threshold, scale)
        self.privacy = {
            **self._statement("MST (Private-PGM / mbi)", budget, threshold,
                              "one-way and two-way marginals, the choice of pairs"),
            "sigma_one_way": scale, "sigma_two_way": scale2,
            "pairs": [[self.columns_meta[a]["column"], self.columns_meta[b]["column"]] for a, b in self.edges]}
        progress(4, 4, "fitted")

    def _missing_code(self, j: int) -> int:
        meta = self.columns_meta[j]
        return meta["values"].index(MISSING) if "values" in meta else meta["size"] - 1

    def _drop_missing(self, j: int) -> None:
        """No mass on column j's missing code, in every marginal that holds column j."""
        m = self._missing_code(j)
        self.marginals[str(j)][m] = 0.0
        for a, b in self.edges:
            if j == a:
                self.marginals[f"{a},{b}"][m, :] = 0.0
            elif j == b:
                self.marginals[f"{a},{b}"][:, m] = 0.0

    def _compress(self, data: np.ndarray, one_way: list[np.ndarray], threshold: float):
        """Categories with a noisy count below `threshold` merge into one rare bucket (MST's compression)."""
        out_data, out_way = data.copy(), []
        for j, meta in enumerate(self.columns_meta):
            if "values" not in meta:
                out_way.append(one_way[j])
                continue
            keep = [i for i, v in enumerate(meta["values"]) if one_way[j][i] >= threshold or v == MISSING]
            rare = [i for i in range(len(meta["values"])) if i not in keep]
            mapping = np.full(len(meta["values"]), len(keep))
            mapping[keep] = np.arange(len(keep))
            out_data[:, j] = mapping[data[:, j]]
            values = [meta["values"][i] for i in keep] + ([RARE] if rare else [])
            meta["values"], meta["size"] = values, len(values)
            counts = one_way[j][keep]
            out_way.append(np.append(counts, one_way[j][rare].sum()) if rare else counts)
        return out_data, out_way

    def _select(self, mbi, domain, dataset, log1, rho: float, rng: np.random.Generator) -> list[tuple[int, int]]:
        """The maximum spanning tree of pairs, each edge by the exponential mechanism (MST's `select`). The
        model of the one-way measurements alone has independent columns, so its pair marginals are outer
        products of its one-way marginals (no inference per pair)."""
        model = mbi.estimation.MirrorDescent().estimate(domain, log1, iters=500)
        k = len(domain.attributes)
        total = float(model.total)
        single = [np.asarray(model.project([a]).datavector(), dtype=float) / total for a in domain.attributes]
        weights = {}
        for a, b in itertools.combinations(range(k), 2):
            pair = [domain.attributes[a], domain.attributes[b]]
            expected = np.outer(single[a], single[b]).ravel() * total
            weights[(a, b)] = float(np.abs(dataset.project(pair).datavector() - expected).sum())
        eps = math.sqrt(8 * rho / (k - 1))
        parent = list(range(k))

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        edges = []
        for _ in range(k - 1):
            candidates = [e for e in weights if root(e[0]) != root(e[1])]
            chosen = candidates[exponential_mechanism(np.array([weights[e] for e in candidates]), eps, rng)]
            parent[root(chosen[0])] = root(chosen[1])
            edges.append(chosen)
        return edges

    # -- sample ---------------------------------------------------------------------------------
    def _sample(self, rows: int, conditions: dict[str, Any], seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        frame = self._decode(self._sample_codes(rows, rng), rng)
        for col, value in conditions.items():  # rejection: keep rows that match the fixed values
            frame = frame[frame[col].astype(str) == str(value)]
        return frame

    def _sample_codes(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """Codes drawn along the tree: a root from its marginal, then each column given its parent."""
        k = len(self.columns_meta)
        codes = np.zeros((rows, k), dtype=np.int64)
        neighbours: dict[int, list[tuple[int, np.ndarray]]] = {j: [] for j in range(k)}
        for a, b in self.edges:
            joint = np.clip(self.marginals[f"{a},{b}"], 0, None)
            neighbours[a].append((b, joint))
            neighbours[b].append((a, joint.T))
        done = set()
        for start in range(k):  # a forest: each tree from its own root
            if start in done:
                continue
            p = np.clip(self.marginals[str(start)], 0, None)
            codes[:, start] = rng.choice(len(p), rows, p=p / p.sum() if p.sum() > 0 else None)
            done.add(start)
            queue = [start]
            while queue:
                u = queue.pop(0)
                for v, joint in neighbours[u]:
                    if v in done:
                        continue
                    codes[:, v] = draw_rows(joint[codes[:, u]], rng)  # rows: P(v | u) up to a constant
                    done.add(v)
                    queue.append(v)
        return codes

    def _decode(self, codes: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
        """Values from codes: numbers uniformly within their bin (or exactly a point mass, 0 or missing),
        categories as released (rare and missing as missing)."""
        rows = len(codes)
        data = {}
        for j, meta in enumerate(self.columns_meta):
            c = codes[:, j]
            if "integers" in meta:
                lo, hi = meta["integers"]
                data[meta["column"]] = np.where(c <= hi - lo, lo + c, np.nan).astype(float)
            elif "edges" in meta:
                edges = np.asarray(meta["edges"])
                bins = len(edges) - 1
                x = np.full(rows, np.nan)
                left, right = edges[np.minimum(c, bins - 1)], edges[np.minimum(c, bins - 1) + 1]
                inside = c < bins
                x[inside] = (left + rng.random(rows) * (right - left))[inside]
                if meta.get("zero_bin"):
                    x[c == bins] = 0.0
                for i, m in enumerate(meta.get("masses", [])):
                    x[c == bins + int(meta.get("zero_bin", False)) + i] = m
                data[meta["column"]] = pd.to_datetime(x, unit="s") if meta["kind"] == "datetime" else x
            else:
                values = np.array(meta["values"], dtype=object)[c]
                values = np.where((values == MISSING) | (values == RARE), None, values)
                if meta["kind"] == "boolean":
                    values = np.array([None if v is None else v == "True" for v in values], dtype=object)
                data[meta["column"]] = values
        return pd.DataFrame(data)

    # -- save / load ----------------------------------------------------------------------------
    def _save(self, folder: Path) -> dict:
        import torch
        from safetensors.torch import save_file

        save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in self.marginals.items()},
                  str(folder / "marginals.safetensors"))
        return {"columns_meta": self.columns_meta, "edges": [list(e) for e in self.edges], "privacy": self.privacy}

    def _load(self, folder: Path, meta: dict) -> None:
        from safetensors.torch import load_file

        self.columns_meta, self.privacy = meta["columns_meta"], meta["privacy"]
        self.edges = [tuple(e) for e in meta["edges"]]
        self.marginals = {k: v.numpy() for k, v in load_file(str(folder / "marginals.safetensors")).items()}
