"""`python -m genesis_core images ...` in real subprocesses, on tiny models trained in process."""

import pytest

from tests.test_cli import cli
from tests.vision.helpers import config, train


@pytest.mark.slow
def test_image_analyses_from_the_terminal(workspace, tmp_path):
    ae, _ = train(workspace, config(steps=100, name="ae", model={"latent_dim": 4, "channels": 8}))
    sweep, _ = train(workspace, config("bottleneck_sweep", steps=100, latent_sizes=[2, 4], model={"channels": 8}))
    restorer, _ = train(workspace, config("image_restoration", steps=30, corruptions=["blur"],
                                          model={"channels": 8, "blocks": 1}))

    models = cli("images", "models")
    assert models.returncode == 0 and ae.id in models.stdout and f"{sweep.id}:z2" in models.stdout

    table = cli("images", "bottleneck", sweep.id, "--target", "5")
    assert table.returncode == 0 and "smallest latent reaching 5 dB: 2 (PCA: 2)" in table.stdout
    assert "pca_psnr_db" in table.stdout

    gif = tmp_path / "path.gif"
    out = cli("images", "interpolate", ae.id, "--from", "0", "--to", "5", "--method", "slerp", "-o", str(gif))
    assert out.returncode == 0 and "slerp" in out.stdout and gif.read_bytes()[:6] == b"GIF89a"

    matrix = cli("images", "stitch", "--all", "--translator", "none", "--anchors", "200")
    assert matrix.returncode == 0 and "   -  " in matrix.stdout  # 4 -> 2 dims has no identity translator

    restore = cli("images", "restore", restorer.id, "--kind", "blur")
    assert restore.returncode == 0 and "classical = unsharp masking" in restore.stdout

    bad = cli("images", "probe", "no-such-run")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: ") and len(bad.stderr.splitlines()) == 1


def test_images_restore_prints_apply_scores_and_the_cycle_for_a_two_way_network(workspace, capsys):
    from genesis_core.cli.commands import main

    both, _ = train(workspace, config("image_restoration", steps=20, corruptions=["posterise", "halftone"],
                                      direction="both", model={"channels": 8, "blocks": 1}))
    assert main(["images", "restore", both.id, "--kind", "halftone"]) == 0
    out = capsys.readouterr().out
    assert "applied by the network vs the exact procedure" in out and "cycle at level 0.5" in out
    assert "halftone: PSNR (dB) on 300 test images; classical = Gaussian smoothing" in out
