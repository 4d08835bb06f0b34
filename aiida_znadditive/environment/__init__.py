"""Profiles, services, computers and codes: what ``aiida-znadditive setup`` and ``doctor`` act on."""
