"""GAN Workbench: `streamlit run app.py`."""

import ui

page = ui.navigation()
ui.admit_session()
ui.run_page(page)
