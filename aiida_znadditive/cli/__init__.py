"""The ``aiida-znadditive`` command line, in the style of ``verdi``."""

from . import (  # noqa: F401  - importing registers the sub-commands
    adsorption,
    campaign,
    complexation,
    database,
    demo,
    doctor,
    experiments,
    generate,
    ml,
    report,
    screen,
    setup,
    solvation,
)
from .root import cmd_root

__all__ = ('cmd_root',)
