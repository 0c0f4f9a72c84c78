"""Optical character recognition: page images and PDFs to text, hOCR and structured fields.

Tesseract runs in process through tesserocr, one thread per process (its wheel is built
without OpenMP, whose threading is 3 to 5 times slower on few cores); parallelism comes from
reading files in worker processes.
"""
