"""What can be done with trained image models: latent operations, conditional analyses, stitching,
similarity, the explorer, the catalog, the zoo and the cached analyses.
"""
