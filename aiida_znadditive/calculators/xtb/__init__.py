"""GFN-xTB through the xtb program (Debian xtb 6.5) as a real AiiDA CalcJob."""
