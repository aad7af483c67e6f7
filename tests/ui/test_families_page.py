"""The generative-families page under AppTest: real jobs, the comparison table and same-seed grids, the explorer."""

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
        at.button(key="fam_submit").click().run()
        assert not at.exception and "Started job" in at.success[0].value
    for job in api.list_jobs(workspace):
        final = api.wait(job.id, workspace, timeout=scaled(400))
        assert final.status == "succeeded", api.log_tail(final, workspace)
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "fd" in d.value.columns)
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
