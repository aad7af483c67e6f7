"""A graphical model of discrete columns estimated from noisy marginals: Private-PGM's mirror descent (McKenna,
Sheldon and Miklau 2019, Algorithm 1, with mbi's Armijo step) in numpy over a junction tree.

AIM refits its model after every measurement and asks it for the marginals of every candidate it might measure
next. `mbi` does both in JAX, which compiles a program for each new set of cliques and each new query shape:
on a 10-column table that was 0.35 s a compile and 85 compiles a round. Here the same computations run eagerly
in numpy (the tables are small): sum-product in log space over the junction tree (mbi's `make_junction_tree`
builds it), potentials on the maximal measured cliques, and any marginal answered by elimination along the tree.
Tested against `mbi`'s own estimator on the same measurements (tests/tabular/test_aim.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

Clique = tuple[int, ...]  # column indices, ascending


def _axes_except(full: Clique, keep: Clique) -> tuple[int, ...]:
    return tuple(i for i, a in enumerate(full) if a not in keep)


def expand(values: np.ndarray, sub: Clique, full: Clique, sizes: list[int]) -> np.ndarray:
    """A table over `sub` broadcastable over `full` (both ascending, sub inside full)."""
    return values.reshape([sizes[a] if a in sub else 1 for a in full])


def sum_to(values: np.ndarray, full: Clique, keep: Clique) -> np.ndarray:
    """A table over `full` summed down to `keep` (ascending, inside full)."""
    return values.sum(axis=_axes_except(full, keep)) if len(keep) < len(full) else values


def counts(data: np.ndarray, clique: Clique, sizes: list[int]) -> np.ndarray:
    """How many rows of `data` (rows x columns of codes) hold each cell of the clique's columns."""
    cells = [sizes[a] for a in clique]
    flat = np.ravel_multi_index(data[:, list(clique)].T, cells)
    return np.bincount(flat, minlength=math.prod(cells)).reshape(cells).astype(float)


@dataclass
class Factor:
    """A nonnegative table over ascending columns."""
    attrs: Clique
    values: np.ndarray

    def times(self, other: Factor, sizes: list[int]) -> Factor:
        attrs = tuple(sorted(set(self.attrs) | set(other.attrs)))
        return Factor(attrs, expand(self.values, self.attrs, attrs, sizes) * expand(other.values, other.attrs, attrs,
                                                                                      sizes))

    def over(self, keep: set[int]) -> Factor:
        attrs = tuple(a for a in self.attrs if a in keep)
        return Factor(attrs, sum_to(self.values, self.attrs, attrs))


class JunctionTree:
    """The junction tree of a set of cliques over columns of the given sizes (a forest when they fall apart)."""

    def __init__(self, sizes: list[int], cliques: list[Clique]):
        from genesis_core.tabular.single_table.mst import _mbi

        mbi = _mbi()
        self.sizes = list(sizes)
        domain = mbi.Domain([str(j) for j in range(len(sizes))], self.sizes)
        every = [tuple(str(a) for a in c) for c in cliques] + [(str(j),) for j in range(len(sizes))]
        tree, elimination = mbi.junction_tree.make_junction_tree(domain, every)
        self.nodes: list[Clique] = [tuple(sorted(int(a) for a in n)) for n in tree.nodes]
        self.order = [int(a) for a in elimination[::-1]]  # the order to draw columns in
        index = {n: i for i, n in enumerate(tree.nodes)}
        self.neighbours: dict[int, list[int]] = {i: [] for i in range(len(self.nodes))}
        for u, v in tree.edges:
            self.neighbours[index[u]].append(index[v])
            self.neighbours[index[v]].append(index[u])
        self.parent: dict[int, int | None] = {}
        self.upward: list[tuple[int, int]] = []  # (child, parent), leaves first
        self.component: dict[int, int] = {}
        for root in range(len(self.nodes)):
            if root in self.parent:
                continue
            self.parent[root] = None
            seen, stack = [root], [root]
            while stack:
                u = stack.pop()
                self.component[u] = root
                for v in self.neighbours[u]:
                    if v not in self.parent:
                        self.parent[v] = u
                        seen.append(v)
                        stack.append(v)
            self.upward += [(v, p) for v in reversed(seen) if (p := self.parent[v]) is not None]

    def home(self, clique: Clique) -> int | None:
        """A node holding every column of `clique`, or None."""
        return next((i for i, n in enumerate(self.nodes) if set(clique) <= set(n)), None)

    def separator(self, i: int, j: int) -> Clique:
        return tuple(a for a in self.nodes[i] if a in self.nodes[j])

    # -- inference -------------------------------------------------------------------------------
    def calibrate(self, theta: list[np.ndarray], total: float) -> list[np.ndarray]:
        """Each node's marginal (summing to `total` in every connected part) from log-potentials per node."""
        msgs: dict[tuple[int, int], np.ndarray] = {}

        def belief(i: int, skip: int | None = None) -> np.ndarray:
            b = theta[i]
            for k in self.neighbours[i]:
                if k != skip:
                    b = b + expand(msgs[(k, i)], self.separator(k, i), self.nodes[i], self.sizes)
            return b

        def send(i: int, j: int) -> None:
            sep = self.separator(i, j)
            b = belief(i, skip=j)
            axes = _axes_except(self.nodes[i], sep)
            msgs[(i, j)] = logsumexp(b, axis=axes) if axes else b

        for child, parent in self.upward:
            send(child, parent)
        for child, parent in reversed(self.upward):
            send(parent, child)
        out = []
        for i in range(len(self.nodes)):
            b = belief(i)
            out.append(total * np.exp(b - logsumexp(b)))
        return out

    def marginal(self, mu: list[np.ndarray], clique: Clique, total: float) -> np.ndarray:
        """The marginal over `clique` (ascending) of a calibrated tree: from one node when one holds it, else by
        eliminating along the smallest subtree that joins nodes holding its columns (P = prod mu_node / prod
        mu_separator), and as independent parts across the forest's components."""
        home = self.home(clique)
        if home is not None:
            return sum_to(mu[home], self.nodes[home], clique)
        parts: dict[int, list[int]] = {}
        for a in clique:
            node = next(i for i, n in enumerate(self.nodes) if a in n)
            parts.setdefault(self.component[node], []).append(a)
        if len(parts) > 1:  # independent parts: the product of their marginals, over the total per extra part
            result = Factor((), np.asarray(1.0))
            for cols in parts.values():
                part = tuple(sorted(cols))
                result = result.times(Factor(part, self.marginal(mu, part, total)), self.sizes)
            return result.values / total ** (len(parts) - 1)
        return self._eliminate(mu, clique)

    def _eliminate(self, mu: list[np.ndarray], clique: Clique) -> np.ndarray:
        holders = [next(i for i, n in enumerate(self.nodes) if a in n) for a in clique]
        root = holders[0]
        # the subtree joining the holders: every node on a path from a holder up to their meeting point
        path_up: dict[int, list[int]] = {}
        for h in holders:
            chain: list[int] = []
            u: int | None = h
            while u is not None:
                chain.append(u)
                u = self.parent[u]
            path_up[h] = chain
        common = set.intersection(*(set(c) for c in path_up.values()))
        top = next(u for u in path_up[root] if u in common)
        keep_nodes = {top}
        for chain in path_up.values():
            for u in chain:
                keep_nodes.add(u)
                if u == top:
                    break
        wanted = set(clique)

        def up(u: int) -> Factor:
            f = Factor(self.nodes[u], mu[u])
            for v in self.neighbours[u]:
                if self.parent.get(v) == u and v in keep_nodes:
                    sep = self.separator(v, u)
                    child = up(v)
                    divided = Factor(sep, 1.0 / np.maximum(sum_to(mu[v], self.nodes[v], sep), 1e-300))
                    f = f.times(child, self.sizes).times(divided, self.sizes)
            above = self.parent[u]
            keep = wanted | (set(self.separator(u, above)) if above is not None and u != top else set())
            return f.over(keep)

        return up(top).values


@dataclass
class Measurement:
    clique: Clique
    noisy: np.ndarray  # shaped over the clique's columns
    sigma: float


class GraphicalModel:
    """Potentials on the maximal measured cliques, fitted to the measurements by mirror descent."""

    def __init__(self, sizes: list[int]):
        self.sizes = list(sizes)
        self.theta: dict[Clique, np.ndarray] = {}
        self.measurements: list[Measurement] = []
        self.total = 1.0
        self.alpha: float | None = None
        self.tree: JunctionTree | None = None
        self.mu: list[np.ndarray] = []

    def add(self, measurement: Measurement) -> None:
        """A measurement, its clique's potential (zero, absorbing those it contains) when no clique holds it."""
        self.measurements.append(measurement)
        c = measurement.clique
        if any(set(c) <= set(k) for k in self.theta):
            return
        theta = np.zeros([self.sizes[a] for a in c])
        for k in [k for k in self.theta if set(k) < set(c)]:
            theta = theta + expand(self.theta.pop(k), k, c, self.sizes)
        self.theta[c] = theta
        self.tree = None

    def _total(self) -> float:
        """The minimum-variance unbiased estimate of the row count from the measurements (mbi's)."""
        estimates = np.array([m.noisy.sum() for m in self.measurements])
        variances = np.array([m.sigma**2 * m.noisy.size for m in self.measurements])
        return max(1.0, float(np.average(estimates, weights=1 / variances)))

    def fit(self, iters: int) -> None:
        """`iters` steps of mirror descent with Armijo's step size, from the current potentials."""
        if self.tree is None:
            self.tree = JunctionTree(self.sizes, list(self.theta))
        tree, self.total = self.tree, self._total()
        owner: dict[Clique, int] = {c: home for c in self.theta if (home := tree.home(c)) is not None}
        routes = [next(c for c in self.theta if set(m.clique) <= set(c)) for m in self.measurements]
        lipschitz: dict[Clique, float] = {}
        for m, c in zip(self.measurements, routes):
            lipschitz[c] = lipschitz.get(c, 0.0) + math.prod(self.sizes[a] for a in c) / m.noisy.size / m.sigma**2
        if self.alpha is None:
            self.alpha = 2.0 / (max(lipschitz.values()) * self.total)

        def node_theta(theta: dict[Clique, np.ndarray]) -> list[np.ndarray]:
            out = [np.zeros([self.sizes[a] for a in n]) for n in tree.nodes]
            for c, t in theta.items():
                out[owner[c]] = out[owner[c]] + expand(t, c, tree.nodes[owner[c]], self.sizes)
            return out

        def evaluate(theta):
            node_mu = tree.calibrate(node_theta(theta), self.total)
            mu = {c: sum_to(node_mu[owner[c]], tree.nodes[owner[c]], c) for c in theta}
            loss, grad = 0.0, {c: np.zeros_like(v) for c, v in mu.items()}
            for m, c in zip(self.measurements, routes):
                diff = (sum_to(mu[c], c, m.clique) - m.noisy) / m.sigma
                loss += 0.5 * float((diff * diff).sum())
                grad[c] = grad[c] + expand(diff / m.sigma, m.clique, c, self.sizes)
            return loss, grad, mu, node_mu

        loss, grad, mu, node_mu = evaluate(self.theta)
        for _ in range(iters):
            trial = {c: self.theta[c] - self.alpha * grad[c] for c in self.theta}
            loss2, grad2, mu2, node_mu2 = evaluate(trial)
            decrease = 0.5 * self.alpha * sum(float((grad[c] * (mu[c] - mu2[c])).sum()) for c in self.theta)
            if loss - loss2 >= decrease:
                self.theta, loss, grad, mu, node_mu = trial, loss2, grad2, mu2, node_mu2
                self.alpha *= 1.01
            else:
                self.alpha *= 0.5
        self.mu = node_mu

    def marginal(self, clique: Clique) -> np.ndarray:
        assert self.tree is not None
        return self.tree.marginal(self.mu, clique, self.total)
