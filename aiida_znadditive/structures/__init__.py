"""Structure builders: Zn2+ complexes, solvated boxes, Zn slabs."""
