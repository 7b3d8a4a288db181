"""The run directory, the one contract between trainer, CLI, app and tests: its files, its
checkpoint folders, atomic writes, open formats."""
