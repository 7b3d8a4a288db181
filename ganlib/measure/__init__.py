"""Measuring images: FID, KID, precision/recall and friends, the classifier features they are
computed on (shipped weights in ``evaluators/``), and the real images they are compared with."""
