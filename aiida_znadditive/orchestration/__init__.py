"""Orchestration, above both halves of the package: it may use ``workchains`` and ``ml``, neither of which uses it.

- :mod:`.promotion`: screened molecules become candidate nodes (with the screener or generator as provenance) and
  builders of the complexation WorkChain;
- :mod:`.campaign`: generate, record in the meta-database, promote, compute;
- :mod:`.demo`: the PySCF demo on [Zn(H2O)6]2+.
"""
