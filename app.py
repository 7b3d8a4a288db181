"""GAN Workbench: `streamlit run app.py`."""

import ui

ui.navigation().run()
