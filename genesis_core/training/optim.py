"""Optimizers a task may hand the Trainer: several torch optimizers behind one, so the Trainer (and its LR
scheduler, checkpoints and resume) sees a single optimizer whatever the recipe.

  muon_adamw   torch.optim.Muon for the hidden 2-D weight matrices, AdamW for the rest (embeddings, norms,
               heads), each with its own learning rate; a scheduler's factor applies to both
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any, Callable, Iterable

import torch


class CombinedOptimizer(torch.optim.Optimizer):
    """Steps, zeroes, saves and restores several optimizers as one. `param_groups` is theirs, joined, so an LR
    scheduler scales every group."""

    def __init__(self, optimizers: list[torch.optim.Optimizer]):
        self.optimizers = optimizers
        self.param_groups = [g for o in optimizers for g in o.param_groups]
        self.defaults: dict[str, Any] = {}
        self.state = defaultdict(dict)
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()

    def step(self, closure=None):  # noqa: D102
        loss = closure() if closure is not None else None
        for o in self.optimizers:
            o.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        for o in self.optimizers:
            o.zero_grad(set_to_none=set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"optimizers": [o.state_dict() for o in self.optimizers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        for o, s in zip(self.optimizers, state_dict["optimizers"]):
            o.load_state_dict(s)
        self.param_groups = [g for o in self.optimizers for g in o.param_groups]


def muon_adamw(named: Iterable[tuple[str, torch.nn.Parameter]], lr: float, muon_lr: float, weight_decay: float,
               hidden: Callable[[str, torch.nn.Parameter], bool]) -> CombinedOptimizer:
    """Muon for the parameters `hidden(name, p)` accepts (2-D matrices inside the network), AdamW for the rest
    (decay on other matrices only)."""
    muon, adam_decay, adam_plain, seen = [], [], [], set()
    for name, p in named:
        if not p.requires_grad or id(p) in seen:  # tied weights appear once
            continue
        seen.add(id(p))
        if p.dim() == 2 and hidden(name, p):
            muon.append(p)
        elif p.dim() >= 2:
            adam_decay.append(p)
        else:
            adam_plain.append(p)
    optimizers: list[torch.optim.Optimizer] = [torch.optim.AdamW([{"params": adam_decay, "weight_decay": weight_decay},
                                     {"params": adam_plain, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.95))]
    if muon:
        optimizers.append(torch.optim.Muon(muon, lr=muon_lr, weight_decay=weight_decay, adjust_lr_fn="match_rms_adamw"))
    return CombinedOptimizer(optimizers)
