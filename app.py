"""Genesis Workbench: router and frame. Each page lives in pages/; the work happens in genesis_core."""

import streamlit as st

from pages.common import device_label, sidebar_jobs

st.set_page_config(page_title="Genesis Workbench", page_icon=":material/genetics:", layout="wide")

navigation = st.navigation(
    {
        "Home": [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)],
        "Jobs": [
            st.Page("pages/jobs.py", title="Jobs", icon=":material/memory:", url_path="jobs"),
            st.Page("pages/runs.py", title="Runs", icon=":material/folder_open:", url_path="runs"),
        ],
    }
)

with st.sidebar:
    st.markdown("**Genesis Workbench**")
    st.caption(f"Device: {device_label()}")
    st.markdown("**Active jobs**")
    sidebar_jobs()

navigation.run()
