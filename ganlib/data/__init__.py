"""Datasets: the catalogue of built-in ones and their files, installing them, reading them."""
