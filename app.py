"""GAN Workbench: `streamlit run app.py`."""

from ui import shell

page = shell.navigation()
shell.admit_session()
shell.run_page(page)
