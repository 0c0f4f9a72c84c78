"""Optical character recognition: page images and PDFs to text, hOCR and structured fields.

Tesseract runs with one OpenMP thread per process (``OMP_THREAD_LIMIT=1``): on few cores its
default threading is 3 to 5 times slower; parallelism comes from running pages in processes.
"""
