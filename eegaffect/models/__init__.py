"""The continuous emotion model chain: causal VQ-VAE, masked temporal transformer, SAC trajectory optimiser,
bundles and the Predictor.
"""
