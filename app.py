"""Genesis Workbench: router and frame. Each page lives in app_pages/; the work happens in genesis_core.

The folder is not called `pages/`: Streamlit treats a `pages/` folder beside the entry point as its older
multipage layout and serves a deep link such as /jobs from it directly, without this router and sidebar.
"""

import streamlit as st

from app_pages.common import backend_choice, sidebar_jobs, tracker_choice

st.set_page_config(page_title="Genesis Workbench", page_icon=":material/genetics:", layout="wide")

navigation = st.navigation(
    {
        "Home": [st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True)],
        "Workbench": [  # first, where they are always seen: the queue, the runs, the sweeps
            st.Page("app_pages/jobs.py", title="Jobs", icon=":material/memory:", url_path="jobs"),
            st.Page("app_pages/runs.py", title="Runs", icon=":material/folder_open:", url_path="runs"),
            st.Page("app_pages/sweeps.py", title="Sweeps", icon=":material/tune:", url_path="sweeps"),
        ],
        "Images": [
            st.Page("app_pages/vision_train.py", title="Train", icon=":material/model_training:", url_path="images"),
            st.Page("app_pages/vision_latent.py", title="Latent explorer", icon=":material/tune:", url_path="latent"),
            st.Page("app_pages/vision_swap.py", title="Encoder/decoder swap", icon=":material/swap_horiz:",
                    url_path="swap"),
            st.Page("app_pages/vision_bottleneck.py", title="Bottleneck", icon=":material/compress:",
                    url_path="bottleneck"),
            st.Page("app_pages/vision_families.py", title="Generative families", icon=":material/auto_awesome:",
                    url_path="families"),
            st.Page("app_pages/vision_restoration.py", title="Restoration", icon=":material/healing:",
                    url_path="restoration"),
        ],
        "Audio → Video": [
            st.Page("app_pages/av_lab.py", title="Render and train", icon=":material/music_video:", url_path="av"),
        ],
        "Language models": [
            st.Page("app_pages/lm_dynamics.py", title="Loss dynamics", icon=":material/monitoring:", url_path="lm"),
        ],
        "Synthetic data": [
            st.Page("app_pages/tabular_synth.py", title="Synthesise and report", icon=":material/table_view:",
                    url_path="synthetic"),
            st.Page("app_pages/tabular_related.py", title="Sequences and related tables", icon=":material/timeline:",
                    url_path="sequences"),
            st.Page("app_pages/tabular_releases.py", title="Releases and drift", icon=":material/history:",
                    url_path="releases"),
        ],
    },
    expanded=True,  # every page listed: no "View N more"
)

with st.sidebar:
    st.markdown("**Genesis Workbench**")
    backend_choice()  # here, or on Ray when a cluster is configured
    tracker_choice()  # TensorBoard, MLflow, W&B offline or none, besides the run's store
    sidebar_jobs()  # the device, then the active jobs; refreshed every few seconds

navigation.run()
