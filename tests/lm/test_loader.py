import torch

from genesis_core.lm.bytes import MASK
from genesis_core.lm.loader import IGNORE, DeviceCorpusLoader, MaskingSchedule

TEXTS = {"en": "the quick brown fox jumps over the lazy dog. " * 200, "zh": "天地玄黄宇宙洪荒。" * 200}


def loader(**kw):
    args = {"context": 32, "batch_size": 64, "device": torch.device("cpu"), **kw}
    return DeviceCorpusLoader(TEXTS, **args)


def test_causal_windows_are_shifted_targets_from_one_device_tensor():
    ld = loader()
    x, y, lang = ld.next_batch()
    assert x.shape == y.shape == (64, 32) and lang.shape == (64,)
    assert torch.equal(x[:, 1:], y[:, :-1])
    assert ld.tokens.dtype == torch.int16 and ld.tokens.numel() == sum(len(t.encode()) for t in TEXTS.values())


def test_language_weights_target_locales():
    _, _, lang = loader(weights={"en": 0.0, "zh": 1.0}).next_batch()
    assert (lang == 1).all()
    _, _, lang = loader(weights={"en": 3.0, "zh": 1.0}, batch_size=4000).next_batch()
    assert 0.7 < (lang == 0).float().mean() < 0.8


def test_resume_continues_the_same_stream_and_ranks_differ():
    a = loader(seed=3)
    a.next_batch()
    state = a.state_dict()
    expected = a.next_batch()[0]
    b = loader(seed=3)
    b.load_state_dict(state)
    assert torch.equal(b.next_batch()[0], expected)
    assert not torch.equal(loader(seed=3, rank=1).next_batch()[0], loader(seed=3, rank=0).next_batch()[0])


def test_masking_curriculum_ramps_rate_and_whole_word_share():
    schedule = MaskingSchedule(mask_rate_start=0.1, mask_rate_end=0.3, wwm_share_start=0.0, wwm_share_end=1.0,
                               wwm_ramp_steps=10)
    assert schedule.at(0) == (0.1, 0.0) and schedule.at(5) == (0.2, 0.5) and schedule.at(50) == (0.3, 1.0)
    ld = loader(objective="masked", masking=schedule, batch_size=512)
    x, y, _ = ld.next_batch()
    masked = x == MASK
    assert torch.equal(masked, y != IGNORE) and 0.05 < masked.float().mean() < 0.15  # rate 0.1, spans
    for _ in range(10):
        ld.next_batch()
    x, y, _ = ld.next_batch()  # after the ramp: rate 0.3, all of it whole words
    assert ld.current_masking() == (0.3, 1.0)
    assert 0.15 < (x == MASK).float().mean() < 0.4


def test_whole_word_masking_masks_every_byte_of_a_chosen_word():
    ld = loader(objective="masked", masking=MaskingSchedule(mask_rate_start=0.3, mask_rate_end=0.3,
                                                            wwm_share_start=1.0, wwm_share_end=1.0))
    idx, _ = ld._windows()
    window, words = ld.tokens[idx[:, :-1]].long(), ld.words[idx[:, :-1]].long()
    inputs, _ = ld.mask(window, words, 0.3, 1.0)
    masked = inputs == MASK
    for row in range(len(words)):
        for w in words[row][masked[row]].unique().tolist():
            assert w >= 0 and masked[row][words[row] == w].all()
    assert not masked[words < 0].any()  # spaces and punctuation are never masked as words
