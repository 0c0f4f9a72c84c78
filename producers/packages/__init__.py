"""Submission packages: from a deposit (zip, tarball, BagIt bag, METS) to the package store.

Each package goes through one workflow (:mod:`heritage.producers.packages.package_workflow`):
unpack, validate the bag, parse the METS, check for a resubmission, then per file the
checksums, the format and the virus scan, and finally one atomic store. Every step is an
event (:mod:`heritage.producers.packages.ingest_events`).
"""
