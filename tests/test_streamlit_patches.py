"""ui/streamlit_patches.py replaces two private Streamlit attributes. A Streamlit upgrade that
moves either must fail here, not silently undo the patch (the live page's speed, the upload
refusal on a public host)."""

import inspect

from streamlit.runtime import Runtime, memory_uploaded_file_manager
from streamlit.runtime.scriptrunner import script_runner
from streamlit.web.server.starlette import starlette_routes

from ui import streamlit_patches


def test_the_clean_up_after_each_script_run_is_still_the_attribute_the_patch_replaces():
    original = script_runner._clean_problem_modules
    try:
        assert inspect.isfunction(original) and "keras" in inspect.getsource(original)
        # The runner looks the function up by its module-level name on every run, so replacing
        # the module attribute replaces the call.
        assert "_clean_problem_modules)" in inspect.getsource(script_runner.ScriptRunner)
        streamlit_patches.keep_keras_session()
        assert script_runner._clean_problem_modules.__name__ == "clean_problem_modules_but_keras"
    finally:
        script_runner._clean_problem_modules = original


def test_the_upload_endpoint_still_stores_files_through_the_managers_add_file():
    # The patch replaces ``add_file`` on the runtime's manager instance; the endpoint must still
    # call it (tests/test_public_link.py then sends a real upload to a real server: 403).
    assert inspect.isfunction(memory_uploaded_file_manager.MemoryUploadedFileManager.add_file)
    assert "upload_mgr.add_file(" in inspect.getsource(starlette_routes)
    assert isinstance(inspect.getattr_static(Runtime, "uploaded_file_mgr"), property)
