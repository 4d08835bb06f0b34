"""Generators (entry point group ``znadditive.generators``): graph GA, a SELFIES language model steered by
reinforcement learning (``reinvent``), random library baseline; metrics of what they generate (:mod:`.metrics`)."""

from .base import (
    GROUP,
    Constraints,
    Desirability,
    GenerationResult,
    Generator,
    GeneratorError,
    Objective,
    Scalarisation,
    ScoredMolecule,
    ScorerBudget,
    crowding_distances,
    generator_names,
    load_generator,
    pareto_order,
    pareto_ranks,
)

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
