"""`genesis images ...` on tiny models trained in process, each command run in this process (tests/test_cli.py runs
the `genesis` process itself)."""

import pytest

from tests.test_cli import cli_here
from tests.vision.helpers import config, train


@pytest.mark.slow
def test_image_analyses_from_the_terminal(workspace, tmp_path, capsys):
    ae, _ = train(workspace, config(steps=100, name="ae", model={"latent_dim": 4, "channels": 8}))
    sweep, _ = train(workspace, config("bottleneck_sweep", steps=100, latent_sizes=[2, 4], model={"channels": 8}))
    restorer, _ = train(workspace, config("image_restoration", steps=30, corruptions=["blur"],
                                          model={"channels": 8, "blocks": 1}))

    models = cli_here(capsys, "images", "models")
    assert models.returncode == 0 and ae.id in models.stdout and f"{sweep.id}:z2" in models.stdout

    table = cli_here(capsys, "images", "bottleneck", sweep.id, "--target", "5")
    assert table.returncode == 0 and "smallest latent reaching 5 dB: 2 (PCA: 2)" in table.stdout
    assert "pca_psnr_db" in table.stdout

    gif = tmp_path / "path.gif"
    out = cli_here(capsys, "images", "interpolate", ae.id, "--from", "0", "--to", "5", "--method", "slerp", "-o", str(gif))
    assert out.returncode == 0 and "slerp" in out.stdout and gif.read_bytes()[:6] == b"GIF89a"

    matrix = cli_here(capsys, "images", "stitch", "--all", "--translator", "none", "--anchors", "200")
    assert matrix.returncode == 0 and "   -  " in matrix.stdout  # 4 -> 2 dims has no identity translator

    restore = cli_here(capsys, "images", "restore", restorer.id, "--kind", "blur")
    assert restore.returncode == 0 and "classical = unsharp masking" in restore.stdout

    bad = cli_here(capsys, "images", "probe", "no-such-run")
    assert bad.returncode == 2 and bad.stderr.strip().startswith("error: ") and len(bad.stderr.splitlines()) == 1


def test_images_restore_prints_apply_scores_and_the_cycle_for_a_two_way_network(workspace, capsys):
    from genesis_core.cli.commands import main

    both, _ = train(workspace, config("image_restoration", steps=20, corruptions=["posterise", "halftone"],
                                      direction="both", model={"channels": 8, "blocks": 1}))
    assert main(["images", "restore", both.id, "--kind", "halftone"]) == 0
    out = capsys.readouterr().out
    assert "applied by the network vs the exact procedure" in out and "cycle at level 0.5" in out
    assert "halftone: PSNR (dB) on 300 test images; classical = Gaussian smoothing" in out


def test_images_evaluate_gives_a_checkpoints_figures_beside_pca_per_class(workspace, capsys):
    import json

    import torch

    from genesis_core.cli.commands import main
    from genesis_core.training.loading import load_model
    from genesis_core.vision.images import image_metrics
    from genesis_core.vision.tasks.autoencoders import pca_baseline, reconstruct_all

    ae, _ = train(workspace, config(steps=40, name="ae", model={"latent_dim": 4, "channels": 8},
                                    trainer={"checkpoint_every": 20}))
    assert main(["images", "evaluate", ae.id, "--checkpoint", "20", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    loaded = load_model(ae.checkpoints_dir / got["checkpoint"], workspace)
    split = loaded.task.split
    assert got["checkpoint"] != ae.latest_checkpoint().name  # the step asked for, not the latest
    with torch.no_grad():
        ours = reconstruct_all(loaded.model.eval(), split.test_x, split.test_y)
    three = split.test_y == 3
    row = next(r for r in got["per_class"] if r["class"] == str(split.classes[3]))
    assert row["images"] == int(three.sum())
    assert abs(row["psnr_db"] - image_metrics(ours[three], split.test_x[three])["psnr_db"]) < 1e-6
    overall = {r["metric"]: r for r in got["overall"]}
    assert abs(overall["psnr_db"]["baseline"] - pca_baseline(split, 4)["psnr_db"]) < 1e-6
    assert sum(r["images"] for r in got["per_class"]) == len(split.test_x)
    assert main(["images", "evaluate", ae.id]) == 0 and "per class" in capsys.readouterr().out
    assert main(["images", "evaluate", ae.id, "--checkpoint", "7"]) == 2
    assert "has no checkpoint at step 7; it has 20, 40" in capsys.readouterr().err


def test_images_evaluate_scores_a_shipped_generative_checkpoint_as_the_zoo_did(workspace, capsys):
    import json
    from pathlib import Path

    from genesis_core.cli.commands import main

    zoo = Path(__file__).resolve().parents[2] / "favorites" / "families"
    assert main(["images", "evaluate", str(zoo / "flow"), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    rows = {(r["metric"], r["baseline_name"]): r for r in got["overall"]}
    shipped = next(m for m in json.loads((zoo / "zoo.json").read_text())["members"] if m["name"] == "flow")["metrics"]
    fd = rows[("fd", "held-out real images (the floor)")]
    # FD's features come from a domain classifier trained again on this machine (see test_zoo): within 2 %
    assert abs(fd["model"] - shipped["fd"]) <= 0.02 * shipped["fd"]
    assert abs(fd["baseline"] - shipped["fd_floor"]) <= 0.02 * shipped["fd_floor"]
    assert abs(rows[("test_bits_per_dim", "")]["model"] - shipped["test_bits_per_dim"]) < 1e-3  # exact likelihood
    assert got["per_class"] == []
