"""Protocols: YAML settings per WorkChain (``<name>.yaml``) and per calculator (``calculators/<name>.yaml``)."""
