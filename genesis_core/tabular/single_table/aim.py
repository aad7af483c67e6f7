"""AIM (McKenna, Mullins, Sheldon and Miklau 2022, "AIM: An Adaptive and Iterative Mechanism for Differentially
Private Synthetic Data") on Private-PGM's graphical model (mbi's junction tree, the estimation in numpy:
tabular/single_table/graphical_model.py), beside MST.

Where MST measures a fixed tree of pairs, AIM chooses what to measure from a workload, one marginal per round,
and spends more where its model is still wrong:

  1. discretise as MST does (tabular/single_table/mst.py: private bounds, point masses, category sets); the
     workload is every pair of columns (`degree` 2; 3 for triples), its candidates the workload's marginals and
     their one-way parts, each weighted by how many workload columns it shares (AIM's `compile_workload`)
  2. measure every one-way marginal with Gaussian noise (sigma from the planned `rounds`, 3 per column unless
     given: 90% of each round's share buys measurements, 10% selection); fit a graphical model (Private-PGM's
     mirror descent, tabular/single_table/graphical_model.py)
  3. each round: the exponential mechanism picks the candidate the model answers worst, its error discounted by
     the noise it would be measured with (l1 error - sqrt(2/pi) sigma cells), among candidates that keep the
     model under `max_model_mb` (a limit that grows with the budget spent); measure it, refit (warm start). When
     a measurement moved the model less than its noise, sigma halves (the budget goes further per round); the
     last round spends what is left
  4. keep the model's marginals over its junction tree's cliques and sample column by column in the tree's
     order, each given the columns already drawn that share a clique with it

Budget: (epsilon, delta) becomes rho-zCDP as MST's; bounds, point masses and category sets are paid as there,
the rounds from the rest, counted exactly (each round eps_sel^2/8 + 1/(2 sigma^2)). The saved model is the
clique marginals (safetensors) and the bins and tree (JSON): no rows.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np

from genesis_core.registry import GENERATORS
from genesis_core.tabular.single_table.base import GeneratorError, Progress
from genesis_core.tabular.single_table.graphical_model import (Clique, GraphicalModel, JunctionTree, Measurement,
                                                               counts)
from genesis_core.tabular.single_table.mst import MSTGenerator, draw_rows
from genesis_core.tabular.single_table.privacy_accounting import exponential_mechanism

ROUNDS_PER_COLUMN = 3  # the rounds the budget is planned for, per column (AIM's paper: 16)
MAX_CELLS = 10_000  # a workload marginal with more cells than this is left out (AIM's own default)


def workload_candidates(k: int, sizes: list[int], degree: int) -> dict[tuple[int, ...], float]:
    """The candidates of the workload "every set of `degree` columns" (those of at most MAX_CELLS cells) and
    every subset of them, each weighted by the number of columns it shares with the workload's marginals."""
    workload = [w for w in itertools.combinations(range(k), min(degree, k)) if math.prod(sizes[j] for j in w) <= MAX_CELLS]
    closure = {sub for w in workload for r in range(1, len(w) + 1) for sub in itertools.combinations(w, r)}
    closure |= {(j,) for j in range(k)}
    return {cl: float(sum(len(set(cl) & set(w)) for w in workload)) or 1.0 for cl in sorted(closure, key=len)}


def _key(node: Clique) -> str:
    """A clique's name in the saved marginals."""
    return ",".join(map(str, node))


@GENERATORS.register("aim")
class AIMGenerator(MSTGenerator):
    name = "aim"
    private = True

    def __init__(self, seed: int = 0, epochs: int = 300, epsilon: float = 1.0, delta: float | None = None,
                 categories: str = "dp", bounds: dict | None = None, bins: int = 16, iters: int = 1000,
                 rounds: int = 0, degree: int = 2, max_model_mb: float = 20.0, round_iters: int = 100,
                 **options: Any):
        super().__init__(seed, epochs, epsilon=epsilon, delta=delta, categories=categories, bounds=bounds, bins=bins,
                         iters=iters, rounds=rounds, degree=degree, max_model_mb=max_model_mb,
                         round_iters=round_iters, **options)
        if degree not in (2, 3):
            raise GeneratorError("degree must be 2 (pairs) or 3 (triples)")
        if max_model_mb <= 0:
            raise GeneratorError("max_model_mb must be positive")
        self.cliques: list[Clique] = []  # the junction tree's cliques, marginals in self.marginals
        self.order: list[int] = []  # the order columns are drawn in

    @classmethod
    def search_space(cls, trial, rows: int) -> dict[str, Any]:
        return {"bins": trial.suggest_int("bins", 8, 32), "degree": trial.suggest_int("degree", 2, 3)}

    # -- fit -----------------------------------------------------------------------------------
    def _fit(self, frame, progress: Progress) -> None:
        o = self.options
        progress(0, 100, "discretising")
        data, budget, rng = self._prepare(frame)
        delta, rho = budget["delta"], budget["rho_rest"]
        k = data.shape[1]
        # AIM's T (the one-way marginals take k of its shares). The paper's 16 per column spread epsilon 1 so thin
        # that fair's pair trends fell to 0.76 (0.99 at 24 rounds): 3 per column, chosen on fair and anes96
        rounds = max(int(o["rounds"]) or ROUNDS_PER_COLUMN * k, 2 * k)
        sigma = math.sqrt(rounds / (2 * 0.9 * rho))
        eps_select = math.sqrt(8 * 0.1 * rho / rounds)
        data, one_way, threshold = self._one_way(data, sigma, delta, rng)
        sigma_one_way = sigma
        used = k * 0.5 / sigma**2
        sizes = [m["size"] for m in self.columns_meta]
        candidates = workload_candidates(k, sizes, int(o["degree"]))
        answers = {cl: counts(data, cl, sizes) for cl in candidates}
        model = GraphicalModel(sizes)
        for j in range(k):
            model.add(Measurement((j,), np.asarray(one_way[j], dtype=float), sigma))
        model.fit(int(o["round_iters"]))
        measured: list[list[Any]] = []
        last = False
        while not last:
            if rho - used < 2 * (0.5 / sigma**2 + eps_select**2 / 8):  # the last round spends what is left
                rest = rho - used
                sigma, eps_select, last = math.sqrt(1 / (2 * 0.9 * rest)), math.sqrt(8 * 0.1 * rest), True
            used += eps_select**2 / 8 + 0.5 / sigma**2
            allowed = self._within_size(model, candidates, float(o["max_model_mb"]) * used / rho)
            errors = np.array([candidates[cl] * (np.abs(answers[cl] - model.marginal(cl)).sum()
                                                 - math.sqrt(2 / math.pi) * sigma * answers[cl].size)
                               for cl in allowed])
            cl = allowed[exponential_mechanism(errors, eps_select, rng, max(candidates[c] for c in allowed))]
            before = model.marginal(cl)
            model.add(Measurement(cl, answers[cl] + rng.normal(0, sigma, answers[cl].shape), sigma))
            model.fit(int(o["round_iters"]))
            moved = np.abs(model.marginal(cl) - before).sum()
            measured.append([[self.columns_meta[j]["column"] for j in cl], round(sigma, 4)])
            progress(min(99, int(100 * used / rho)), 100,
                     f"round {len(measured)}: measured {' x '.join(measured[-1][0])} "
                     f"({100 * used / rho:.0f}% of the budget spent)")
            if moved <= sigma * math.sqrt(2 / math.pi) * answers[cl].size:
                sigma, eps_select = sigma / 2, eps_select * 2  # the model barely moved: measure more precisely
        progress(99, 100, f"fitting the graphical model on {len(model.measurements)} measurements (mirror descent)")
        model.fit(int(o["iters"]))
        assert model.tree is not None
        self.cliques, self.order = list(model.tree.nodes), list(model.tree.order)
        self.marginals = {_key(node): np.array(mu, dtype=float)
                          for node, mu in zip(self.cliques, model.mu)}
        self._drop_unmeasured_missing(one_way, threshold, sigma_one_way)
        self.edges = []
        self.privacy = {
            **self._statement("AIM (Private-PGM / mbi)", budget, threshold,
                              "one-way marginals, the marginals chosen in each round and their choice"),
            "rounds": len(measured), "rounds_planned": rounds, "rho_spent": budget["rho_bounds"]
            + budget["rho_masses"] + used, "sigma_one_way": sigma_one_way,
            "measured": measured, "workload": f"every set of {o['degree']} columns"}
        progress(100, 100, "fitted")

    @staticmethod
    def _within_size(model: GraphicalModel, candidates: dict, limit_mb: float) -> list[Clique]:
        """The candidates already inside the model's cliques, and those whose addition keeps its junction tree
        under `limit_mb` megabytes (AIM's `filter_candidates`)."""
        cliques = list(model.theta)
        allowed = []
        for cl in candidates:
            if any(set(cl) <= set(c) for c in cliques):
                allowed.append(cl)
                continue
            tree = JunctionTree(model.sizes, cliques + [cl])
            if sum(math.prod(model.sizes[a] for a in node) for node in tree.nodes) * 8 / 2**20 <= limit_mb:
                allowed.append(cl)
        return allowed

    def _drop_missing(self, j: int) -> None:
        m = self._missing_code(j)
        for node in self.cliques:
            if j in node:
                index: list[Any] = [slice(None)] * len(node)
                index[node.index(j)] = m
                self.marginals[_key(node)][tuple(index)] = 0.0

    # -- sample ---------------------------------------------------------------------------------
    def _sample_codes(self, rows: int, rng: np.random.Generator) -> np.ndarray:
        """Column by column in the junction tree's order: each given the columns already drawn that share a clique
        with it (they and it always lie inside one clique, by the tree's construction)."""
        codes = np.zeros((rows, len(self.columns_meta)), dtype=np.int64)
        drawn: set[int] = set()
        for col in self.order:
            parents = sorted(drawn & {a for node in self.cliques if col in node for a in node})
            home = next(node for node in self.cliques if col in node and set(parents) <= set(node))
            table = np.clip(self.marginals[_key(home)], 0, None)
            keep = [home.index(a) for a in parents] + [home.index(col)]
            table = table.sum(axis=tuple(i for i in range(len(home)) if i not in keep))
            table = np.transpose(table, np.argsort(np.argsort(keep)))  # axes: parents..., col
            weights = table[tuple(codes[:, a] for a in parents)] if parents else np.broadcast_to(
                table, (rows, table.shape[-1]))
            codes[:, col] = draw_rows(weights, rng)
            drawn.add(col)
        return codes

    # -- save / load ----------------------------------------------------------------------------
    def _save(self, folder: Path) -> dict:
        meta = super()._save(folder)
        return {**meta, "cliques": [list(c) for c in self.cliques], "order": self.order}

    def _load(self, folder: Path, meta: dict) -> None:
        super()._load(folder, meta)
        self.cliques = [tuple(int(a) for a in c) for c in meta["cliques"]]
        self.order = [int(a) for a in meta["order"]]
