"""Calculator interface and one adapter per engine (entry point group ``znadditive.calculators``)."""
