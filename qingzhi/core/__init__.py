"""The domain core: the rules of the command centre, in one place.

The ingest, the dashboard, the importer, the simulator and the CLI import from here; nothing
here imports from them (tests/test_architecture.py keeps it so).
"""
