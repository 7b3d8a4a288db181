"""GAN Workbench: `streamlit run app.py`."""

import streamlit as st

st.set_page_config(page_title="GAN Workbench", page_icon="🎛️", layout="wide")
st.title("GAN Workbench")
st.info("No pages yet: train from the command line with `python -m ganlib train`.")
