"""AiiDA WorkChains: the costly physics (Zn2+ complexation, AIMD solvation shell, Zn(002) adsorption)."""
