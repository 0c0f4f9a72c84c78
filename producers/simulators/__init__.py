"""Simulated sources for demos, tests and benchmarks, apart from the code that reads real ones.

An OAI-PMH repository (``oai_pmh_server``) over generated records (``oai_pmh_generated_records``),
the sample collection (``sample_collection``), a replay server for recorded Europeana API
responses (``europeana_replay``) and the annotation simulator (``annotation_simulator``).
"""
