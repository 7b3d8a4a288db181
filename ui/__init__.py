"""The app's views: Streamlit widgets and charts over ``ganlib``, one module per job.

- ``shell``: the navigation, the tab cap at the door, a page's failure as a sentence;
- ``server``: what this process holds for every tab (the policy, the job manager, the queue);
- ``public_link``: all a shared public link shows that a laptop's app does not;
- ``run_list``: which runs the app shows and the run select box;
- ``messages``: errors and refusals, fit for whoever reads them;
- ``cached``: generators and GIFs kept between script runs;
- ``charts`` and the panels of each page (``live``, ``train_form``, ``sweeps``,
  ``gallery_panels``, ``steer``, ``evaluate_panels``, ``pick_panels``);
- ``streamlit_patches``: the two patches of Streamlit's private internals, guarded by a test.

Nothing here computes: every figure comes from ``ganlib``; what the server may do comes from
``workbench.policy``.
"""
