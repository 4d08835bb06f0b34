"""Graph neural networks for molecular properties: featurisation, 2D and 3D models, deep ensembles, checkpoints."""
