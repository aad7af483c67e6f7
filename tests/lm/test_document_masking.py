"""Document masking: with record ids, no token attends to (or is changed by) a token of another record, on every
attention path; the loader hands out the right record ids; a run with it trains and is scored the same way."""

import numpy as np
import pytest
import torch

from genesis_core.lm.attention import document_mask
from genesis_core.lm.bytes import encode, record_ids
from genesis_core.lm.loader import DeviceCorpusLoader
from genesis_core.lm.model import LlamaConfig, LlamaModel
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.vision.helpers import make_task


def test_record_ids_split_at_the_blank_line_between_records():
    text = "first record\nline two\n\nsecond\n\nthird one\n\n"
    ids = record_ids(encode(text))
    assert ids.tolist() == [0] * len("first record\nline two\n\n") + [1] * len("second\n\n") + [2] * len("third one\n\n")


@pytest.mark.parametrize("attention", ["sdpa", "math"])
@pytest.mark.parametrize("causal", [True, False])
def test_no_token_sees_another_record(attention, causal):
    torch.manual_seed(0)
    model = LlamaModel(LlamaConfig(n_layer=2, d_model=32, n_head=4, n_kv_head=2, context=24, attention=attention),
                       causal=causal).eval()
    docs = torch.tensor([[0] * 8 + [1] * 10 + [2] * 6, [5] * 24])
    x = torch.randint(0, 256, (2, 24))
    base = model(x, docs=docs)
    for record in (0, 1, 2):
        changed = x.clone()
        inside = docs[0] == record
        changed[0, inside] = (changed[0, inside] + 1 + torch.arange(int(inside.sum()))) % 256
        out = model(changed, docs=docs)
        outside = ~inside
        # every position of the other records is untouched, to the last bit of float noise
        assert torch.allclose(out[0, outside], base[0, outside], atol=1e-5), record
        assert not torch.allclose(out[0, inside], base[0, inside], atol=1e-3)  # the record itself does change
        assert torch.equal(out[1], base[1])  # and the other window is on its own
    # gradients agree: the loss on record 1 has no gradient through the embeddings of records 0 and 2
    emb = model.embed(x).detach().requires_grad_(True)
    h = emb
    mask = document_mask(docs, causal)
    for block in model.blocks:
        h = block(h, model.rope_cos, model.rope_sin, mask)
    h[0, docs[0] == 1].sum().backward()
    grad = emb.grad[0].abs().sum(-1)
    assert grad[docs[0] != 1].max() == 0 and grad[docs[0] == 1].min() > 0


def test_without_records_the_mask_is_plain_attention():
    torch.manual_seed(0)
    for causal in (True, False):
        model = LlamaModel(LlamaConfig(n_layer=1, d_model=32, n_head=4, n_kv_head=2, context=16), causal=causal).eval()
        x = torch.randint(0, 256, (2, 16))
        assert torch.allclose(model(x, docs=torch.zeros(2, 16, dtype=torch.long)), model(x), atol=1e-5)


def test_the_loader_gives_each_input_its_record():
    texts = {"en": "alpha beta\n\ngamma\n\ndelta epsilon zeta\n\n" * 4, "de": "eins zwei\n\ndrei vier\n\n" * 4}
    loader = DeviceCorpusLoader(texts, 16, 8, torch.device("cpu"), documents=True, seed=3)
    inputs, targets, lang, docs = loader.next_batch()
    assert docs.shape == inputs.shape
    for row in range(8):
        d = docs[row].numpy()
        assert (np.diff(d) >= 0).all() and (np.diff(d) <= 1).all()
        text = bytes(inputs[row].tolist())
        for i in np.flatnonzero(np.diff(d)) + 1:  # a new record starts right after a blank line
            assert text[i - 2:i] == b"\n\n" and text[i:i + 1] != b"\n"
    en, de = loader.docs[: loader.lengths[0]], loader.docs[loader.lengths[0]:]
    assert int(en.max()) < int(de.min())  # records never span two languages
    assert len(DeviceCorpusLoader(texts, 16, 8, torch.device("cpu")).next_batch()) == 3  # off: no record ids


@pytest.mark.parametrize("objective", ["causal", "masked"])
def test_a_run_with_document_masking_trains_and_is_scored_with_it(workspace, objective):
    cfg = tiny_lm(objective=objective, data={"document_masking": True},
                  trainer={"steps": 40, "eval_every": 40, "checkpoint_every": 0, "preview_every": 0})
    trainer = Trainer(make_task(cfg), workspace.create_run("language_model", cfg))
    result = trainer.fit()
    assert result.reason == "finished" and np.isfinite(result.eval_metrics["eval/bpb"])
    seen = []
    original = trainer.model.forward
    trainer.model.forward = lambda *a, **k: seen.append(k.get("docs")) or original(*a, **k)
    trainer.task.bits_per_byte(trainer.model, "en")
    assert seen and all(d is not None for d in seen)
