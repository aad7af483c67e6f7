"""Queries over runs, as a researcher writes them: `eval/psnr_db > 20 and model.latent_dim <= 16`.

A query is clauses joined by `and`; a clause is `KEY OP VALUE` with OP one of `<`, `<=`, `>`, `>=`, `=` (or `==`),
`!=`. KEY is a final metric (`eval/psnr_db`, `loss`), a config key (dotted: `model.latent_dim`, `trainer.lr`), or
one of `task`, `name`, `tag`, `id`. Numbers compare as numbers, anything else as text; a run without the key
does not match. A malformed query raises QueryError with one sentence naming the clause.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from genesis_core.errors import WorkbenchError
from genesis_core.store.compare import flatten
from genesis_core.store.metrics import MetricsReader
from genesis_core.store.workspace import Run

OPS: dict[str, Callable[[Any, Any], bool]] = {"<=": operator.le, ">=": operator.ge, "!=": operator.ne,
                                              "==": operator.eq, "=": operator.eq, "<": operator.lt, ">": operator.gt}
_CLAUSE = re.compile(r"^\s*([A-Za-z_][\w./-]*)\s*(<=|>=|!=|==|=|<|>)\s*(.+?)\s*$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)


class QueryError(WorkbenchError, ValueError):
    """A query that cannot be read."""


@dataclass(frozen=True)
class Clause:
    key: str
    op: str
    value: float | str

    def holds(self, actual: Any) -> bool:
        if actual is None:
            return False
        if isinstance(self.value, float):
            try:
                number = float(actual)
            except (TypeError, ValueError):
                return False
            return number == number and OPS[self.op](number, self.value)
        if self.op not in ("=", "==", "!="):
            return False
        return OPS[self.op](str(actual), self.value)


def parse(query: str) -> list[Clause]:
    """The clauses of a query ('' is no clause: every run matches)."""
    clauses = []
    for part in _AND.split(query.strip()) if query.strip() else []:
        m = _CLAUSE.match(part)
        if not m:
            raise QueryError(f"cannot read {part.strip()[:60]!r}: write KEY OP VALUE, e.g. eval/psnr_db > 20, "
                             "joined by 'and'")
        key, op, raw = m.groups()
        raw = raw.strip().strip("'\"")
        try:
            value: float | str = float(raw)
        except ValueError:
            if op not in ("=", "==", "!="):
                raise QueryError(f"{part.strip()[:60]!r}: {op} needs a number; text compares with = or !=") from None
            value = raw
        clauses.append(Clause(key, op, value))
    return clauses


def fields_of(run: Run, latest: dict[str, float] | None = None) -> dict[str, Any]:
    """What a query can ask of a run: its config (dotted keys), its final metrics, task, name, id."""
    fields: dict[str, Any] = dict(flatten(run.config()))
    fields.update(latest if latest is not None else MetricsReader(run.metrics_path).latest())
    fields.update({"task": run.task, "name": run.name or "", "id": run.id})
    return fields


def matches(run: Run, clauses: list[Clause], fields: dict[str, Any] | None = None) -> bool:
    fields = fields_of(run) if fields is None else fields
    for c in clauses:
        if c.key == "tag":  # tag = x: one of its tags is x; tag != x: none is
            tags = [str(t) for t in run.tags]
            if not (all(c.holds(t) for t in tags) if c.op == "!=" else any(c.holds(t) for t in tags)):
                return False
        elif not c.holds(fields.get(c.key)):
            return False
    return True


def filter_runs(runs: list[Run], query: str) -> list[Run]:
    """The runs a query selects, in their order."""
    clauses = parse(query)
    if not clauses:
        return list(runs)
    return [r for r in runs if matches(r, clauses)]
