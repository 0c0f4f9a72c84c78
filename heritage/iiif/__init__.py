"""IIIF: Presentation 3.0 manifests of published objects, and the Authorization Flow 2.0
probe that says whether an object may be seen."""
