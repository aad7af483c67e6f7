"""The `language_model` task: a byte-level Llama trained with causal or masked LM on a multilingual corpus,
with curriculum masking, loss analytics and LR stun, evaluated in bits per byte per language beside a
unigram-byte baseline."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genesis_core.lm import defaults as recipe
from genesis_core.lm.analytics import AnalyticsConfig, LossAnalytics, LRStun, StunConfig
from genesis_core.lm.bytes import MASK, decode, encode, record_ids
from genesis_core.lm.corpus import CorpusError, LanguageText, builtin_language, user_language
from genesis_core.lm.loader import IGNORE, DeviceCorpusLoader, MaskingSchedule
from genesis_core.lm.model import LlamaConfig, LlamaModel
from genesis_core.lm.pair_tasks import PairTasksConfig, PairTaskSampler, build_pairs, pair_metrics
from genesis_core.registry import TASKS
from genesis_core.training.callbacks import Callback, MetricsCallback
from genesis_core.training.task import TaskConfigBase, TrainerConfig, TrainingTask

if TYPE_CHECKING:
    from genesis_core.store.webhook import WebhookNotifier


@dataclass(frozen=True)
class LMDataConfig:
    languages: tuple[str, ...] = ("en", "de", "es", "it", "pl", "cs", "ru", "zh")  # built-in corpora
    weights: tuple[float, ...] = ()  # sampling weight per language (locale targeting); empty = equal
    user_corpora: tuple[str, ...] = ()  # "LANG=path" entries: your own text files or folders
    max_bytes_per_language: int = 1_000_000  # built-in corpora: bytes read per language
    max_bytes_user_corpus: int = 50_000_000  # each of your own corpora: bytes read (the log says when it caps)
    held_out_fraction: float = 0.05
    batch_size: int = 16
    eval_bytes: int = 8192  # held-out bytes per language scored at each evaluation
    # attention stays inside each record (a fortune, a paragraph of your text): no window attends across a
    # record boundary, in training and evaluation (SDPA with a block mask instead of flash-attn)
    document_masking: bool = False
    # auxiliary pair tasks with their loss weights (coherence, reference, paraphrase; lm/pair_tasks.py)
    pair_tasks: PairTasksConfig = field(default_factory=PairTasksConfig)

    def __post_init__(self) -> None:
        if self.weights and len(self.weights) != len(self.languages) + len(self.user_corpora):
            raise ValueError("weights must give one number per language (built-in, then user corpora)")
        for entry in self.user_corpora:
            if "=" not in entry:
                raise ValueError(f"user corpus {entry!r} must look like LANG=path")
        if self.batch_size < 1 or self.eval_bytes < 1:
            raise ValueError("batch_size and eval_bytes must be at least 1")


@dataclass(frozen=True)
class LanguageModelConfig(TaskConfigBase):
    task: str = "language_model"
    objective: Literal["causal", "masked"] = "causal"
    data: LMDataConfig = field(default_factory=LMDataConfig)
    model: LlamaConfig = field(default_factory=LlamaConfig)
    masking: MaskingSchedule = field(default_factory=MaskingSchedule)  # masked objective only
    analytics: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    stun: StunConfig = field(default_factory=StunConfig)
    # muon: Muon on the hidden weight matrices, AdamW on the rest (the default and its rates: lm/defaults.py)
    optimizer: Literal["adamw", "muon"] = recipe.OPTIMIZER
    muon_lr: float = recipe.MUON_LR  # Muon's peak learning rate (trainer.lr stays AdamW's); one schedule scales both
    min_lr_ratio: float = 0.1  # cosine decays the LR to this share of its peak
    aux_weight: float = 0.1  # weight of the auxiliary language-id loss (model.aux_language_head)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(
        steps=2000, lr=recipe.LR, weight_decay=0.1, warmup_steps=100, log_every=10, eval_every=500,
        checkpoint_every=500, preview_every=500))


def load_texts(data: LMDataConfig) -> dict[str, LanguageText]:
    texts = {lang: builtin_language(lang, data.held_out_fraction, data.max_bytes_per_language)
             for lang in data.languages}
    for entry in data.user_corpora:
        lang, _, path = entry.partition("=")
        texts[lang.strip()] = user_language(lang.strip(), [path.strip()], data.held_out_fraction,
                                            data.max_bytes_user_corpus)
    if not texts:
        raise CorpusError("no languages chosen: name built-in languages or add a corpus of your own.")
    return texts


def unigram_bits_per_byte(train: str, held_out: str) -> float:
    """Cross-entropy (bits per byte) of held-out bytes under the train bytes' frequencies (add-one)."""
    counts = np.bincount(encode(train), minlength=256).astype(np.float64) + 1
    logp = np.log2(counts / counts.sum())
    return float(-logp[encode(held_out)].mean())


class LossDynamics(Callback):
    """Feeds per-step losses to LossAnalytics and LRStun, adds their figures to the logs and writes every
    detection as an event (and to the webhook, when one is set). Runs on every DDP rank (losses averaged) so the
    LR stays equal. With spike_action log, losses are analysed in a batch at log steps (no per-step sync); with
    skip or rollback, every step's loss is analysed before the update, which a spike then skips or undoes."""

    def __init__(self, task: "LanguageModelTask"):
        self.task = task
        self.analytics = LossAnalytics(task.config.analytics)
        self.stun = task.stun
        self.pending: list[tuple[int, tuple[str, str, dict]]] = []
        self.action = task.config.analytics.spike_action
        self.gates_updates = self.action != "log"
        self.span: list[float] = []  # min and max of the losses analysed since the last log step
        self.webhook: WebhookNotifier | None = None

    def on_train_start(self, trainer, resumed_from) -> None:
        url = self.task.config.analytics.webhook
        if url and trainer.ctx.is_main:
            from genesis_core.store.webhook import WebhookNotifier

            run = trainer.run.id if trainer.run is not None else ""
            self.webhook = WebhookNotifier(url, run, self.task.config.analytics.webhook_min_interval)

    def _drain(self, trainer, last_step: int) -> list[tuple[int, tuple[str, str, dict]]]:
        """Analyse the buffered losses, the last one being `last_step`'s; the events they raised."""
        buffer, self.task.loss_buffer = self.task.loss_buffer, []
        if not buffer:
            return []
        losses = torch.stack(buffer).float()
        if trainer.ctx.enabled:
            import torch.distributed as dist

            dist.all_reduce(losses)
            losses /= trainer.ctx.world_size
        values = losses.cpu().tolist()
        self.span = [min(values + self.span[:1]), max(values + self.span[1:])]
        first, raised = last_step - len(values) + 1, []
        for i, loss in enumerate(values):
            step = first + i
            for event in self.analytics.update(loss):
                raised.append((step, event))
            warn_at = max(1, self.stun.config.patience // 2)
            if self.analytics.stagnation == warn_at:  # a plateau forming, half-way to a stun
                raised.append((step, ("stagnation", f"EMA has not improved for {warn_at} steps",
                                      {"steps": warn_at, "ema": self.analytics.ema})))
            stun = self.stun.check(step, self.analytics)
            if stun:
                raised.append((step, stun))
        self.pending.extend(raised)
        return raised

    def before_update(self, trainer, loss: torch.Tensor) -> bool:
        step = trainer.step + 1
        spikes = [e for s, e in self._drain(trainer, step) if s == step and e[0] == "spike"]
        if not spikes:
            return False
        kind, message, data = spikes[0]
        if self.action == "rollback":
            back_to = trainer.rollback()
            if back_to is None:
                data.update(action="skipped")
                message += "; no checkpoint yet, so this update was skipped"
            else:
                data.update(action="rolled back", rolled_back_to=back_to)
                message += f"; weights and optimizer rolled back to the checkpoint of step {back_to}, data carries on"
        else:
            data.update(action="skipped")
            message += "; this batch's update was skipped"
        self.pending = [(s, (k, message, data) if (s, k) == (step, "spike") else (k, m, d))
                        for s, (k, m, d) in self.pending]
        return True

    def _write_events(self, trainer) -> None:
        metrics = trainer.callback(MetricsCallback)
        for step, (kind, message, data) in self.pending:
            if metrics is not None:
                metrics.writer.log_event(step, kind, message, **data)
            if self.webhook is not None:
                self.webhook.send(kind, message, step, **data)
        self.pending = []

    def on_step_end(self, trainer, logs: dict[str, float] | None) -> None:
        if logs is None:
            return
        self._drain(trainer, trainer.step)
        if self.span:
            logs.update({"loss_min": self.span[0], "loss_max": self.span[1]})
            self.span = []
        a = self.analytics
        loader = self.task.loader
        rate, share = loader.current_masking() if loader is not None and self.task.config.objective == "masked" \
            else (0.0, 0.0)
        cfg = self.task.config
        logs.update({"loss_ema": a.ema, "loss_slope": a.slope(), "stagnation": float(a.stagnation),
                     "lr_multiplier": self.stun.multiplier(trainer.step), "stuns": float(self.stun.count),
                     "tokens": float(trainer.step * cfg.data.batch_size * cfg.model.context * trainer.ctx.world_size)})
        if cfg.objective == "masked":
            logs.update({"mask_rate": rate, "wwm_share": share})
        self._write_events(trainer)

    def on_train_end(self, trainer, reason: str) -> None:
        self._write_events(trainer)

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()
            self.webhook = None

    def state_dict(self) -> dict[str, Any]:
        # losses of steps since the last log step are kept as they are, so a resumed run analyses them at
        # the same step an uninterrupted one does (the LR stun then starts at the same step)
        pending = torch.stack(self.task.loss_buffer).float().cpu() if self.task.loss_buffer else torch.zeros(0)
        return {"analytics": self.analytics.state_dict(), "stun": self.stun.state_dict(), "pending_losses": pending}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.analytics.load_state_dict(state["analytics"])
        self.stun.load_state_dict(state["stun"])
        pending = state.get("pending_losses")
        self.task.loss_buffer = [v.to(self.task.device) for v in pending] if pending is not None else []


@TASKS.register("language_model")
class LanguageModelTask(TrainingTask):
    config_cls = LanguageModelConfig
    title = "Byte-level language model"
    description = ("A small Llama on UTF-8 bytes of a multilingual corpus (causal or masked LM), with loss "
                   "analytics, LR stun and bits per byte per language against a unigram baseline.")

    def __init__(self, config: LanguageModelConfig, device: torch.device):
        super().__init__(config, device)
        self.texts = load_texts(config.data)
        capped = [t.capped for t in self.texts.values() if t.capped]
        if capped:  # in the run's log (and on stderr of a CLI command): a cap is never silent
            print("; ".join(capped), file=sys.stderr, flush=True)
        self.languages = list(self.texts)
        self.loss_buffer: list[torch.Tensor] = []
        self.stun = LRStun(config.stun)
        self.loader: DeviceCorpusLoader | None = None
        self._unigram: dict[str, float] = {}
        self._eval_pairs: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None

    # -- building ------------------------------------------------------------------------------
    def build_model(self) -> LlamaModel:
        return LlamaModel(self.config.model, causal=self.config.objective == "causal", device=self.device,
                          n_languages=len(self.languages), pair_tasks=self.config.data.pair_tasks.enabled)

    def build_loader(self, rank: int = 0, world_size: int = 1) -> DeviceCorpusLoader:
        d = self.config.data
        weights = dict(zip(self.languages, d.weights)) if d.weights else None
        self.loader = DeviceCorpusLoader({k: v.train for k, v in self.texts.items()}, self.config.model.context,
                                         d.batch_size, self.device, weights, self.config.objective,
                                         self.config.masking, seed=self.config.trainer.seed, rank=rank,
                                         documents=d.document_masking, pairs=self._pair_sampler(rank))
        return self.loader

    def _pair_sampler(self, rank: int) -> PairTaskSampler | None:
        cfg = self.config.data.pair_tasks
        if not cfg.enabled:
            return None
        for task in cfg.enabled:
            if cfg.width(task) > self.config.model.context:
                raise ValueError(f"data.pair_tasks.{task}: its examples are {cfg.width(task)} bytes, longer than "
                                 f"model.context ({self.config.model.context}); lower data.pair_tasks.segment_bytes")
        return PairTaskSampler(cfg, [t.train for t in self.texts.values()], self.device,
                               seed=self.config.trainer.seed, rank=rank)

    def eval_pairs(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """The held-out pairs of each enabled task (built once from the held-out text, the same every evaluation)."""
        if self._eval_pairs is None:
            cfg = self.config.data.pair_tasks
            self._eval_pairs = {}
            for i, task in enumerate(cfg.enabled):
                built = build_pairs(task, [t.held_out for t in self.texts.values()], cfg.eval_pairs, cfg, 10_007 + i)
                if built is not None:
                    self._eval_pairs[task] = (torch.from_numpy(built[0]).to(self.device), torch.from_numpy(built[1]))
        return self._eval_pairs

    def build_optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        t = self.config.trainer
        if self.config.optimizer == "muon":
            from genesis_core.training.optim import muon_adamw

            return muon_adamw(model.named_parameters(), t.lr, self.config.muon_lr, t.weight_decay,
                              hidden=lambda name, p: name.startswith("blocks."))
        decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
        return torch.optim.AdamW([{"params": decay, "weight_decay": t.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=t.lr, betas=(0.9, 0.95))

    def lr_factor(self, step: int) -> float:
        """Warmup, cosine to min_lr_ratio, times the LR-stun multiplier."""
        t = self.config.trainer
        if t.warmup_steps and step < t.warmup_steps:
            base = (step + 1) / t.warmup_steps
        else:
            progress = min(1.0, (step - t.warmup_steps) / max(1, t.steps - t.warmup_steps))
            base = self.config.min_lr_ratio + (1 - self.config.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
        return base * self.stun.multiplier(step)

    def build_scheduler(self, optimizer):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, self.lr_factor)

    def callbacks(self) -> list[Callback]:
        return [LossDynamics(self)]

    # -- the step ------------------------------------------------------------------------------
    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        inputs, targets, lang, *rest = batch
        docs = next((r for r in rest if isinstance(r, torch.Tensor)), None)
        pairs = next((r for r in rest if isinstance(r, dict)), None)
        out = model(inputs, return_aux=True, docs=docs,
                    pairs={t: x for t, (x, _) in pairs.items()} if pairs else None)
        logits, aux = out[0], out[1]
        lm_loss = F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)
        self.loss_buffer.append(lm_loss.detach())
        loss, extra = lm_loss, {}
        if aux is not None:
            aux_loss = F.cross_entropy(aux.float(), lang)
            loss = loss + self.config.aux_weight * aux_loss
            extra["aux_language_loss"] = aux_loss.detach()
        if pairs:
            weights = self.config.data.pair_tasks
            for task, logit in out[2].items():
                y = pairs[task][1]
                task_loss = F.binary_cross_entropy_with_logits(logit.float(), y)
                loss = loss + getattr(weights, task) * task_loss
                extra[f"pair/{task}_loss"] = task_loss.detach()
                extra[f"pair/{task}_acc"] = ((logit.detach() > 0).float() == y).float().mean()
        return loss, extra

    # -- evaluation ----------------------------------------------------------------------------
    def unigram_baseline(self, language: str) -> float:
        if language not in self._unigram:
            t = self.texts[language]
            self._unigram[language] = unigram_bits_per_byte(t.train, self._eval_text(language))
        return self._unigram[language]

    def _eval_text(self, language: str) -> str:
        raw = self.texts[language].held_out.encode("utf-8")[: self.config.data.eval_bytes]
        return raw.decode("utf-8", errors="ignore")

    @torch.no_grad()
    def bits_per_byte(self, model: nn.Module, language: str) -> float:
        """Causal: -log2 p(byte | previous bytes in its window), averaged over held-out bytes. Masked:
        the same over masked positions (15% spans, a fixed draw), i.e. a pseudo bits per byte."""
        ctx = self.config.model.context
        ids = torch.from_numpy(encode(self._eval_text(language)))
        n = (len(ids) - 1) // ctx
        if n < 1:
            raise CorpusError(f"the {language} held-out text is shorter than one window of {ctx + 1} bytes")
        windows = torch.stack([ids[i * ctx:(i + 1) * ctx + 1] for i in range(n)]).to(self.device)
        docs = None
        if self.config.data.document_masking:  # scored as trained: attention inside each record
            rec = torch.from_numpy(record_ids(ids.numpy()))
            docs = torch.stack([rec[i * ctx:(i + 1) * ctx] for i in range(n)]).to(self.device)
        total, count = 0.0, 0
        for c, chunk in enumerate(windows.split(32)):
            if self.config.objective == "causal":
                inputs, targets = chunk[:, :-1], chunk[:, 1:]
            else:
                g = torch.Generator(device=self.device).manual_seed(1234)
                inputs, targets = _fixed_mask(chunk[:, :-1], g)
            logits = model(inputs, docs=docs[c * 32:(c + 1) * 32] if docs is not None else None).float()
            loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE,
                                   reduction="sum")
            total += float(loss)
            count += int((targets != IGNORE).sum())
        return total / max(count, 1) / math.log(2)

    @torch.no_grad()
    def evaluate(self, module: nn.Module) -> dict[str, float]:
        model = cast(LlamaModel, module)
        out = {}
        for lang in self.languages:
            out[f"bpb/{lang}"] = self.bits_per_byte(model, lang)
            out[f"unigram_bpb/{lang}"] = self.unigram_baseline(lang)
        out["bpb"] = float(np.mean([out[f"bpb/{lang}"] for lang in self.languages]))
        out["unigram_bpb"] = float(np.mean([out[f"unigram_bpb/{lang}"] for lang in self.languages]))
        for task, (x, y) in self.eval_pairs().items():  # held-out pairs; chance is 0.5 for both figures
            logits = torch.cat([model.pair_logits(chunk, task) for chunk in x.split(64)])
            for name, value in pair_metrics(logits, y).items():
                out[f"pair/{task}_{name}"] = value
        return out

    @torch.no_grad()
    def preview(self, model: nn.Module) -> dict[str, Any]:
        return {"samples.txt": self.samples(model).encode("utf-8")}

    @torch.no_grad()
    def samples(self, module: nn.Module, new_bytes: int = 160, prompt_bytes: int = 40, seed: int = 0) -> str:
        model = cast(LlamaModel, module)
        """What the model writes: a continuation of a held-out prompt per language (causal), or the
        fill-in of masked held-out text (masked)."""
        lines = []
        g = torch.Generator(device=self.device).manual_seed(seed)
        for lang in self.languages:
            text = self._eval_text(lang)
            if self.config.objective == "causal":
                prompt = torch.from_numpy(encode(text)[:prompt_bytes])[None].to(self.device)
                out = model.generate(prompt, new_bytes, generator=g)[0].tolist()
                lines.append(f"[{lang}] {decode(out[:prompt_bytes])}⟦{decode(out[prompt_bytes:])}⟧")
            else:
                ids = torch.from_numpy(encode(text)[: self.config.model.context])[None].to(self.device)
                inputs, targets = _fixed_mask(ids, g)
                pred = model(inputs).float()[..., :256].argmax(-1)
                filled = torch.where(inputs == MASK, pred, inputs)
                lines.append(f"[{lang}] masked: {decode(inputs[0].tolist(), show_specials=True)}\n"
                             f"[{lang}] filled: {decode(filled[0].tolist())}")
        return "\n\n".join(lines)

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"languages": self.languages, "objective": self.config.objective,
                "context": self.config.model.context}


def _fixed_mask(ids: torch.Tensor, generator: torch.Generator, rate: float = 0.15, span: int = 3):
    """15% of positions in spans of 3, drawn from `generator` (the evaluation's fixed masking)."""
    u = torch.rand(ids.shape, device=ids.device, generator=generator)
    starts = (u < rate / span).float()
    masked = F.max_pool1d(F.pad(starts[:, None], (span - 1, 0)), span, stride=1)[:, 0] > 0
    masked[:, 0] |= ~masked.any(1)  # at least one masked byte per window
    return (torch.where(masked, torch.full_like(ids, MASK), ids),
            torch.where(masked, ids, torch.full_like(ids, IGNORE)))
