"""What a GAN is made of, each a registry by name: architectures, losses, augmentations of D's
inputs, learning-rate schedules, and the per-replica random draws the layers use."""
