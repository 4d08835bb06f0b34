"""The ``aiida-znadditive`` command line, in the style of ``verdi``."""

from . import adsorption, campaign, complexation, database, demo, doctor, generate, ml, report, setup, solvation  # noqa: F401  - importing registers the sub-commands
from .root import cmd_root

__all__ = ('cmd_root',)
