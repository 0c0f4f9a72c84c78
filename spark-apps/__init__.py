"""Spark applications: raw ingest, cleanse, export; pure transforms beside their I/O."""
