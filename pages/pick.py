"""Pick: the best checkpoint by eye, blind (issue 43): A/B between two checkpoints' grids, rated
with Bradley-Terry until one is ahead with 95% confidence; and real or fake, image by image."""

import streamlit as st

from ganlib import GanlibError
from ui import messages, pick_panels, run_list, server, shell

shell.route_through_app()
st.title("Pick the best checkpoint, blind")
run = run_list.pick_run()
if run is None:
    st.stop()
read_only = server.policy().read_only
try:
    epochs = run.epochs()
except (GanlibError, OSError) as exc:
    messages.show_error(exc)
    st.stop()
if run_list.is_toy(run) or len(epochs) < 2:
    st.info("Picking by eye needs an image run with two checkpoints or more.")
    st.stop()
if read_only:
    st.caption("This app is read-only here: your picks stay in your browser session; nothing is saved.")
# Plain buttons, not a radio: a focused radio group keeps the arrow keys the games answer with.
protocol = st.session_state.setdefault("pick_protocol", "Blind A/B")
for column, name in zip(st.columns([1, 1, 6]), ["Blind A/B", "Real or fake"]):
    column.button(name, type="primary" if name == protocol else "secondary", width="stretch",
                  on_click=st.session_state.update, kwargs={"pick_protocol": name})  # fmt: skip
if protocol == "Blind A/B":
    pick_panels.blind_ab(run, epochs, read_only)
else:
    pick_panels.real_or_fake(run, epochs, read_only)
