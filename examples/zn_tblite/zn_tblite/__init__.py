"""GFN2-xTB engines for aiida-znadditive's WorkChains (an example third-party calculator package)."""
