"""Streamlit pages: widgets, layout and calls into genesis_core; no model logic here."""
