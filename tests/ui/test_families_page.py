"""The generative-families page under AppTest: the shipped zoo on first open (a missing grid and a tampered zoo said
in a sentence), real jobs, the comparison table and same-seed grids, the explorer."""

import json
import shutil
from pathlib import Path

from genesis_core.jobs import api
from tests.ui.pages import open_page
from tests.timeouts import scaled


def test_train_two_families_compare_them_and_explore(workspace):
    at = open_page("app_pages/vision_families.py").run()
    assert not at.exception
    at.selectbox(key="fam_dataset").set_value("sklearn_digits")
    at.number_input(key="fam_steps").set_value(40)
    for family in ("image_flow", "image_gan"):
        at.selectbox(key="fam_family").set_value(family).run()
        if family == "image_flow":  # the neural spline flow, through the page
            at.selectbox(key="fam_coupling").set_value("spline").run()
        at.button(key="fam_submit").click().run()
        assert not at.exception and "Started job" in at.success[0].value
    (flow_job,) = [j for j in api.list_jobs(workspace) if j.task == "image_flow"]
    assert flow_job.config["model"]["coupling"] == "spline"
    for job in api.list_jobs(workspace):
        final = api.wait(job.id, workspace, timeout=scaled(400))
        assert final.status == "succeeded", api.log_tail(final, workspace)
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "run" in d.value.columns)  # the runs, not the zoo
    assert len(table) == 2 and (table["fd_floor"] < table["fd"]).all()
    flow_row = table[table["task"] == "image_flow"].iloc[0]
    assert flow_row["fd"] < flow_row["fd_noise"] and flow_row["test_bits_per_dim"] < 8  # 40 steps: a GAN is not there

    assert len(at.get("image")) >= 3  # one same-seed grid per model, and the explorer's picture
    explore = at.selectbox(key="fam_explore")
    flow = next(i for i, o in enumerate(explore.options) if "image_flow" in o)
    explore.select_index(flow).run()
    assert not at.exception and "exact inverse" in " ".join(c.value for c in at.caption)
    gan = next(i for i, o in enumerate(at.selectbox(key="fam_explore").options) if "image_gan" in o)
    at.selectbox(key="fam_explore").select_index(gan).run()
    assert not at.exception
    at.slider(key="fam_z0").set_value(2.0).run()
    assert not at.exception


ZOO = Path(__file__).resolve().parents[2] / "favorites" / "families"


def test_the_shipped_zoo_is_compared_and_explored_on_first_open(workspace):
    at = open_page("app_pages/vision_families.py").run()
    assert not at.exception
    zoo = json.loads((ZOO / "zoo.json").read_text())
    table = next(d.value for d in at.dataframe if "verdict" in d.value.columns)
    assert len(table) == 2 + len(zoo["members"])
    worse = table[table["verdict"].str.startswith("worse than noise")]["model"].tolist()
    if worse:  # a model worse than noise says so, by name
        assert all(name in " ".join(w.value for w in at.warning) for name in worse)
    assert len(at.get("imgs")) + len(at.get("image")) >= len(zoo["members"])  # every member's grid
    charts = at.get("plotly_chart")
    assert len(charts) >= 2  # FD of each model, FD against sampler steps
    explore = at.selectbox(key="fam_explore")
    options = list(explore.options)
    assert sum(o.startswith("zoo · ") for o in options) == len(zoo["members"])
    captions = {"VAE": "encoder's mean", "flow, affine": "exact inverse", "VQ-VAE, independent": "codes of one image",
                "diffusion, U-Net": "DDIM inversion"}
    for label, words in captions.items():
        at.selectbox(key="fam_explore").select_index(next(i for i, o in enumerate(options) if label in o)).run()
        assert not at.exception and words in " ".join(c.value for c in at.caption), label
    for label in ("PixelCNN", "EBM"):
        at.selectbox(key="fam_explore").select_index(next(i for i, o in enumerate(options)
                                                           if o == f"zoo · {label}" or o.startswith(f"zoo · {label}"))).run()
        assert not at.exception and "has no encoder" in " ".join(i.value for i in at.info), label
    at.selectbox(key="fam_explore").select_index(next(i for i, o in enumerate(options) if "WGAN" in o)).run()
    at.slider(key="fam_z0").set_value(2.0).run()
    assert not at.exception


def test_a_missing_grid_says_how_to_rebuild_and_a_tampered_zoo_is_one_sentence(workspace, tmp_path, monkeypatch):
    copy = tmp_path / "families"
    shutil.copytree(ZOO, copy)
    (copy / "gan" / "grid.png").unlink()
    monkeypatch.setenv("GENESIS_FAMILY_ZOO", str(copy))
    at = open_page("app_pages/vision_families.py").run()
    assert not at.exception
    said = " ".join(w.value for w in at.warning)
    assert "no sample grid" in said and "build_family_zoo.py" in said
    (copy / "zoo.json").write_text('{"version": 1, "members": [')
    at = open_page("app_pages/vision_families.py").run()
    assert not at.exception
    assert any("not a zoo the workbench wrote" in i.value for i in at.info)
