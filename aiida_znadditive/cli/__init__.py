"""The ``aiida-znadditive`` command line, in the style of ``verdi``."""

from .root import cmd_root
from . import demo, doctor, setup  # noqa: F401, E402  - importing registers the sub-commands

__all__ = ('cmd_root',)
