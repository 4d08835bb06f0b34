"""Generators (entry point group ``znadditive.generators``): graph GA, a SELFIES language model steered by
reinforcement learning (``reinvent``), random library baseline; metrics of what they generate (:mod:`.metrics`)."""

from .base import GROUP, Generator, generator_names, load_generator
from .constraints import Constraints
from .desirability import Desirability, Objective
from .errors import GeneratorError
from .pareto import Scalarisation, crowding_distances, pareto_order, pareto_ranks
from .scoring import GenerationResult, ScoredMolecule, ScorerBudget

__all__ = (
    'GROUP',
    'Constraints',
    'Desirability',
    'GenerationResult',
    'Generator',
    'GeneratorError',
    'Objective',
    'Scalarisation',
    'ScoredMolecule',
    'ScorerBudget',
    'crowding_distances',
    'generator_names',
    'load_generator',
    'pareto_order',
    'pareto_ranks',
)
