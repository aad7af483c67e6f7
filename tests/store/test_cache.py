import stat

import torch

from genesis_core.store.cache import ResultCache, cache_key


def test_json_values_and_tensor_files_are_shared(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    key = cache_key("projection", "abc123", {"method": "pca", "n": 2})
    assert key != cache_key("projection", "abc123", {"method": "umap", "n": 2})
    calls = []
    value = cache.get_or_compute(key, lambda: calls.append(1) or {"explained": [0.5, 0.2]})
    again = ResultCache(tmp_path / "cache").get_or_compute(key, lambda: calls.append(1) or {})
    assert value == again == {"explained": [0.5, 0.2]} and calls == [1]
    cache.put_tensors("grid", {"images": torch.ones(2, 3)}, {"rows": 2})
    tensors, meta = ResultCache(tmp_path / "cache").get_tensors("grid")
    assert torch.equal(tensors["images"], torch.ones(2, 3)) and meta == {"rows": 2}
    assert ResultCache(tmp_path / "cache").get_tensors("missing") is None


def test_cache_directory_is_private(tmp_path):
    ResultCache(tmp_path / "cache")
    assert stat.S_IMODE((tmp_path / "cache").stat().st_mode) == 0o700


def test_values_are_json_not_pickles(tmp_path):
    cache = ResultCache(tmp_path / "cache")
    try:
        cache.set("k", {"a": object()})
    except TypeError:
        pass
    else:
        raise AssertionError("a non-JSON value was stored")
