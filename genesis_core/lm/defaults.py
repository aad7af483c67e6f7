"""The language-model recipe's tuned defaults, importable without torch (the Loss dynamics page reads them).

Muon is the default optimiser, and both rates are what the workbench's own Optuna sweeps chose (5 trials each,
300 steps of a 4x256 byte Llama on the German corpus); on English and Russian, which the tuning never saw, Muon
ends ahead of AdamW at these rates on every seed (bench/lm_muon.py, figures in the README)."""

from typing import Final

OPTIMIZER: Final = "muon"  # Muon on the hidden weight matrices, AdamW on embeddings, norms and the head
MUON_LR = 0.014  # Muon's peak rate (the sweep's best: 0.01407)
LR = 2e-3  # AdamW's peak rate (the sweep's best: 0.00211), for the embeddings, norms and head under Muon
