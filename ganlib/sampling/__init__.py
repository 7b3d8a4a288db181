"""Drawing from a generator without training it: the latent vectors, a NumPy forward pass (no
TensorFlow), and images as grids, PNGs, GIFs and interpolation paths."""
