import pytest

from genesis_core.store.files import (UnsafePathError, atomic_write_text, replace_folder, safe_join, safe_name,
                                      sanitize_filename)


@pytest.mark.parametrize("name", ["..", ".", "../x", "a/b", "/etc", "", "x" * 200, ".hidden", "a\\b"])
def test_unsafe_names_are_refused(name):
    with pytest.raises(UnsafePathError):
        safe_name(name)


def test_safe_join_stays_under_root(tmp_path):
    assert safe_join(tmp_path, "a", "b.txt") == tmp_path.resolve() / "a" / "b.txt"
    for parts in (("..", "x"), ("a", "..", "..", "x"), ("/etc/passwd",)):
        with pytest.raises(UnsafePathError):
            safe_join(tmp_path, *parts)


def test_symlink_out_of_root_is_refused(tmp_path):
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "link").symlink_to(tmp_path)
    with pytest.raises(UnsafePathError):
        safe_join(tmp_path / "root", "link", "secret")


@pytest.mark.parametrize("raw, clean", [("../../etc/passwd", "passwd"), ("C:\\x\\data.csv", "data.csv"),
                                        ("my file (1).csv", "my_file_1_.csv"), ("...", "upload")])
def test_uploaded_names_are_sanitised(raw, clean):
    assert sanitize_filename(raw) == clean


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_text(tmp_path / "f.txt", "one")
    atomic_write_text(tmp_path / "f.txt", "two")
    assert (tmp_path / "f.txt").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_replace_folder_swaps_a_built_folder_in_and_leaves_nothing_behind(tmp_path):
    target, new = tmp_path / "families", tmp_path / "families-new"
    target.mkdir()
    (target / "old.txt").write_text("old")
    new.mkdir()
    (new / "zoo.json").write_text("{}")
    assert replace_folder(new, target) == target
    assert sorted(p.name for p in tmp_path.iterdir()) == ["families"]
    assert [p.name for p in target.iterdir()] == ["zoo.json"]
    fresh = tmp_path / "fresh"
    (tmp_path / "built").mkdir()
    replace_folder(tmp_path / "built", fresh)  # nothing there yet
    assert fresh.is_dir() and not (tmp_path / "built").exists()
