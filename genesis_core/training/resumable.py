"""Resumable loaders: the Trainer saves a loader's position in each checkpoint and restores it.

Any loader a task returns implements `next_batch()`, `state_dict()` and `load_state_dict()`.
`TensorLoader` covers datasets that fit in memory (or on the device): a seeded permutation per epoch,
sharded across DDP ranks, so position (epoch, index) is all the state there is.
"""

from __future__ import annotations

from typing import Any, Protocol

import torch


class ResumableLoader(Protocol):
    def next_batch(self) -> Any: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class TensorLoader:
    """Batches of rows from equally long tensors, reshuffled every epoch with a seeded generator.

    Each of `world_size` ranks sees a disjoint share of every epoch's permutation. The last
    incomplete batch of an epoch is dropped so every rank takes the same number of steps.
    """

    def __init__(self, tensors: tuple[torch.Tensor, ...], batch_size: int, seed: int = 0,
                 rank: int = 0, world_size: int = 1, shuffle: bool = True):
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all tensors must have the same number of rows")
        per_rank = n // world_size
        if per_rank < batch_size:
            raise ValueError(f"batch_size {batch_size} is larger than the {per_rank} rows each rank gets")
        self.tensors = tensors
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.shuffle = shuffle
        self.epoch = 0
        self.position = 0  # batches already taken in this epoch
        self.batches_per_epoch = per_rank // batch_size
        self._order: torch.Tensor | None = None

    def _epoch_order(self) -> torch.Tensor:
        n = len(self.tensors[0])
        if self.shuffle:
            g = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        per_rank = n // self.world_size
        return order[self.rank * per_rank:(self.rank + 1) * per_rank]

    def next_batch(self) -> tuple[torch.Tensor, ...]:
        if self.position >= self.batches_per_epoch:
            self.epoch += 1
            self.position = 0
            self._order = None
        if self._order is None:
            self._order = self._epoch_order()
        start = self.position * self.batch_size
        idx = self._order[start:start + self.batch_size].to(self.tensors[0].device)
        self.position += 1
        return tuple(t[idx] for t in self.tensors)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch = int(state["epoch"])
        self.position = int(state["position"])
        self.seed = int(state.get("seed", self.seed))
        self._order = None
