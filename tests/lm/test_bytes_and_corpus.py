import pytest

from genesis_core.lm.bytes import BOS, MASK, decode, encode, word_ids
from genesis_core.lm.corpus import BUILTIN_SOURCES, CorpusError, builtin_language, user_language


def test_bytes_round_trip_and_specials():
    text = "Grüße, 世界! ok"
    ids = encode(text)
    assert len(ids) == len(text.encode("utf-8")) and ids.max() < 256
    assert decode(ids) == text
    assert decode([BOS, *ids[:3], MASK, *ids[3:]], show_specials=True).count("_") == 1
    assert "\ufffd" in decode(encode("世")[:2])  # a window cut mid-character decodes, it does not fail


def test_word_boundaries_for_spaced_scripts_and_cjk():
    ids = word_ids("ab, cd")
    assert ids.tolist() == [0, 0, -1, -1, 1, 1]
    zh = word_ids("世界ok")  # each CJK character is a word; 3 bytes each
    assert zh.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]
    assert word_ids("Привет мир").max() == 1  # Cyrillic: two words, multi-byte letters stay together


def test_builtin_corpus_has_eight_languages_split_into_train_and_held_out():
    assert set(BUILTIN_SOURCES) >= {"en", "de", "es", "it", "pl", "cs", "ru", "zh"}
    for lang in BUILTIN_SOURCES:
        t = builtin_language(lang)
        assert len(t.train.encode()) > 200_000 and len(t.held_out.encode()) > 10_000, lang
        first_held_out = t.held_out.split("\n\n")[0]
        assert first_held_out and first_held_out not in t.train, lang  # records do not leak
    assert "\x1b[" not in builtin_language("zh").train  # terminal colour codes are cleaned away


def test_user_corpus_files_and_errors(tmp_path):
    (tmp_path / "a.txt").write_text("\n\n".join(f"Paragraph number {i} of my text." for i in range(40)))
    t = user_language("xx", [str(tmp_path)], held_out_fraction=0.1)
    assert t.language == "xx" and t.held_out.count("Paragraph") == 4
    with pytest.raises(CorpusError, match="does not exist"):
        user_language("xx", [str(tmp_path / "missing")])
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CorpusError, match="not UTF-8"):
        user_language("xx", [str(tmp_path)])


def test_a_users_corpus_is_read_to_its_own_limit_and_a_cap_is_said_in_the_log(tmp_path, capsys):
    import torch

    from genesis_core.config import from_dict
    from genesis_core.lm.task import LanguageModelConfig, LanguageModelTask

    paragraphs = [f"paragraph {i}: " + "the quick brown fox jumps over the lazy dog. " * 20 for i in range(1600)]
    (tmp_path / "mine.txt").write_text("\n\n".join(paragraphs))  # about 1.5 MB, over the built-ins' 1 MB cap
    size = (tmp_path / "mine.txt").stat().st_size
    cfg = from_dict(LanguageModelConfig, {"data": {"languages": [], "user_corpora": [f"xx={tmp_path}"]}})
    text = LanguageModelTask(cfg, torch.device("cpu")).texts["xx"]
    assert len(text.train) + len(text.held_out) > 0.95 * size and not text.capped
    capped = from_dict(LanguageModelConfig, {"data": {"languages": [], "user_corpora": [f"xx={tmp_path}"],
                                                      "max_bytes_user_corpus": 200_000}})
    capsys.readouterr()
    small = LanguageModelTask(capped, torch.device("cpu")).texts["xx"]
    out = capsys.readouterr().err
    assert small.capped and "corpus xx: " in out and "capped at 200,000" in out
    assert len(small.train.encode()) + len(small.held_out.encode()) < 0.2 * size
