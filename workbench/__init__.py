"""The app's runtime, beside the library: the training job the app drives (one per process,
shared by every tab), the worker process it runs, and the demo link's visitor queue. Free of
Streamlit, like ``ganlib``; the views are ``app.py``, ``pages/`` and ``ui/``."""
