"""GAN Workbench: `streamlit run app.py`."""

import streamlit as st

st.set_page_config(page_title="GAN Workbench", page_icon="🎛️", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/train.py", title="Train", icon="🏋️"),
    st.Page("pages/gallery.py", title="Gallery", icon="🖼️"),
    st.Page("pages/evaluate.py", title="Evaluate", icon="📈"),
]
st.navigation(pages).run()
