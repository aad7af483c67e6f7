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


def _tamper(cache_dir, sql: str, *args) -> None:
    import sqlite3

    with sqlite3.connect(cache_dir / "index" / "cache.db") as db:
        db.execute(sql, args)


def test_a_pickled_cache_row_is_refused_never_unpickled(tmp_path):
    import pickle

    import pytest

    from genesis_core.store.cache import CacheError

    marker = tmp_path / "ran"
    cache = ResultCache(tmp_path / "cache")
    cache.set("k", {"fine": 1})

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    _tamper(tmp_path / "cache", "UPDATE Cache SET mode = 4, value = ?", pickle.dumps(Evil()))
    with pytest.raises(CacheError, match="not JSON"):
        ResultCache(tmp_path / "cache").get("k")
    assert not marker.exists()


def test_a_cache_row_naming_a_file_outside_the_cache_is_refused(tmp_path):
    import pytest

    from genesis_core.store.cache import CacheError

    (tmp_path / "secret.txt").write_text("{}")
    cache = ResultCache(tmp_path / "cache")
    cache.set("k", {"fine": 1})
    _tamper(tmp_path / "cache", "UPDATE Cache SET mode = 2, value = NULL, filename = ?",
            "../../secret.txt")
    with pytest.raises(CacheError, match="outside"):
        ResultCache(tmp_path / "cache").get("k")


def test_a_cached_tensor_path_outside_the_cache_folder_is_refused(tmp_path):
    import pytest
    from safetensors.torch import save_file

    from genesis_core.store.cache import CacheError

    outside = tmp_path / "elsewhere.safetensors"
    save_file({"x": torch.zeros(1)}, str(outside))
    cache = ResultCache(tmp_path / "cache")
    cache.set("grid", {"tensors": str(outside), "meta": {}})
    with pytest.raises(CacheError, match="outside"):
        cache.get_tensors("grid")
