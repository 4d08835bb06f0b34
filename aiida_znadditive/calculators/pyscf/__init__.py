"""PySCF through aiida-pyscf, extended with density fitting, implicit solvent and restarts that work."""
