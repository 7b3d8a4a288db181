"""GAN Workbench: `streamlit run app.py`."""

import streamlit as st

st.set_page_config(page_title="GAN Workbench", page_icon=":material/tune:", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/gallery.py", title="Gallery", icon=":material/photo_library:"),
    st.Page("pages/evaluate.py", title="Evaluate", icon=":material/query_stats:"),
]
st.navigation(pages).run()
