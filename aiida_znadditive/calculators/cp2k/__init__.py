"""CP2K through aiida-cp2k: molecules in a non-periodic box here; periodic tasks in the solvation/slab work."""
