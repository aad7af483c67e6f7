"""Sub-morphemic evaluation: pseudo-words are novel, bits are what the model and the trigram say, and
`genesis lm morphemes RUN` prints them (cached by checkpoint)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genesis_core.lm import morphemes
from genesis_core.lm.bytes import encode
from genesis_core.lm.corpus import builtin_language
from genesis_core.training.trainer import Trainer
from tests.lm.helpers import tiny_lm
from tests.test_cli import cli_here
from tests.vision.helpers import make_task


@pytest.mark.parametrize("language", ["en", "de", "zh"])
def test_pseudo_words_are_novel_with_controls_of_the_suffix_length(language):
    t = builtin_language(language)
    items = morphemes.build_items(language, t.train, t.held_out, n_stems=20)
    assert len({i.stem for i in items}) == 20 and len(items) >= 60
    for it in items:
        assert it.suffix in morphemes.SUFFIXES[language]
        assert len(it.control) == len(it.suffix) and it.control != it.suffix
        assert it.control not in morphemes.SUFFIXES[language]
        if language != "zh":
            assert f" {it.stem + it.suffix} " not in f" {t.train} "  # never seen as a word in training


def test_trigram_is_a_distribution_and_model_bits_match_a_direct_computation():
    text = builtin_language("en").train[:50_000]
    tri = morphemes.ByteTrigram(text)
    seq = encode("the cat")
    total = sum(2 ** -tri.bits(np.concatenate([seq, [b]]), 1) for b in range(256))
    assert total == pytest.approx(1.0, abs=1e-6)

    torch.manual_seed(0)
    model = make_task(tiny_lm()).build_model().eval()
    windows = torch.from_numpy(np.stack([encode("x" * 57 + "walking "), encode("y" * 58 + "walked ")]))
    got = morphemes.model_bits(model, windows, [4, 3], torch.device("cpu"))
    with torch.no_grad():
        logp = F.log_softmax(model(windows[:, :-1]).float()[..., :256], -1)
    direct = [-sum(logp[0, t - 1, windows[0, t]].item() for t in range(61, 65)) / math.log(2),
              -sum(logp[1, t - 1, windows[1, t]].item() for t in range(62, 65)) / math.log(2)]
    assert got == pytest.approx(direct, rel=1e-5)


def test_lm_morphemes_prints_per_language_and_per_suffix_figures(workspace, capsys):
    cfg = tiny_lm(data={"languages": ["en", "de"]}, trainer={"steps": 60, "eval_every": 60, "checkpoint_every": 60,
                                                             "preview_every": 0})
    run = workspace.create_run("language_model", cfg)
    Trainer(make_task(cfg), run).fit()
    per = cli_here(capsys, "lm", "morphemes", run.id, "--stems", "10", "--by-suffix")
    assert per.returncode == 0, per.stderr
    assert "step 60" in per.stdout and "gain_bits" in per.stdout and "trigram_gain_bits" in per.stdout
    assert " ness " in per.stdout and " heit " in per.stdout

    table, step = morphemes.morpheme_eval(run.id, workspace, n_stems=10)  # the CLI's result, from the cache
    assert step == 60 and set(table["language"]) == {"en", "de"} and (table["items"] > 0).all()
    shown = morphemes.summary(table)  # what `lm morphemes RUN` prints without --by-suffix
    assert shown["language"].tolist() == ["en", "de"] and np.isfinite(shown.drop(columns="language").to_numpy()).all()
    assert shown["items"].tolist() == [table[table.language == lang]["items"].sum() for lang in ("en", "de")]


def test_a_masked_model_is_refused_in_one_sentence(workspace, capsys):
    cfg = tiny_lm(objective="masked", data={"languages": ["en"]},
                  trainer={"steps": 5, "eval_every": 5, "checkpoint_every": 5, "preview_every": 0})
    run = workspace.create_run("language_model", cfg)
    Trainer(make_task(cfg), run).fit()
    out = cli_here(capsys, "lm", "morphemes", run.id)
    assert out.returncode == 2 and "needs a causal model" in out.stderr
