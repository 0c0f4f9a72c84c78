"""Spark stages: raw ingest, cleanse, curate, export. Pure DataFrame transforms beside the
I/O helpers their ``*_stage.run(context)`` adapters call; what changed since a stage's last
run is read through heritage.change_tracking."""
