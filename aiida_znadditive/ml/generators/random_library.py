"""The ``random`` generator: the baseline a generator must beat. It draws molecules of a library at random (default:
the MOSES training split; or ``seed_smiles``), drops those that break the constraints (no scorer call) or repeat,
and has the rest scored, in the drawn order, until the budget is spent or the sample runs out. What it finds is what
screening a random slice of the library with the same budget would find.
"""

from __future__ import annotations

from typing import ClassVar

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from ... import __version__
from .base import Generator, RunContext, StopRun
from .errors import GeneratorError
from .library import sample_library

RANDOM_VERSION = '1'


class RandomLibraryGenerator(Generator):
    """Random library baseline; see the module docstring. Settings: :attr:`DEFAULTS`."""

    name = 'random'
    version = f'{__version__}+random.{RANDOM_VERSION}'
    DEFAULTS: ClassVar[dict] = {
        'library': 'moses',
        'seed_smiles': None,
        # Molecules drawn: budget × sample_factor + 100 (many break the constraints), at most the library.
        'sample_factor': 20,
        # Molecules handed to the scorers at once.
        'batch_size': 100,
    }

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        if int(self.settings['sample_factor']) < 1 or int(self.settings['batch_size']) < 1:
            raise GeneratorError('`random` settings sample_factor and batch_size must be at least 1')

    def run(self, context: RunContext) -> tuple[str, str]:
        settings = self.settings
        budget = context.budget
        if settings['seed_smiles'] is not None:
            drawn = list(settings['seed_smiles'])
            context.rng.shuffle(drawn)
            where = f'the {len(drawn)} SMILES given'
        else:
            wanted = budget.budget * int(settings['sample_factor']) + 100
            drawn = sample_library(settings['library'], wanted, context.rng)
            where = f'{len(drawn)} molecules drawn from {settings["library"]}'
        batch: list[str] = []
        queued: set[str] = set()
        admitted = 0
        for smiles in drawn:
            if budget.should_stop:
                break
            with BlockLogs():
                mol = Chem.MolFromSmiles(smiles) if smiles else None
            if mol is None:
                context.discarded['invalid'] += 1
                continue
            key = Chem.MolToSmiles(mol)
            if key in queued or budget.seen(key):
                continue
            if not context.admissible(Chem.MolFromSmiles(key)):
                continue
            admitted += 1
            queued.add(key)
            batch.append(key)
            if len(batch) >= min(int(settings['batch_size']), budget.remaining):
                budget.score(batch, origin='library')
                batch = []
        if batch and not budget.should_stop:
            budget.score(batch, origin='library')
        if budget.should_stop:
            return 'budget', 'budget spent'
        if admitted == 0:
            raise StopRun(
                'no-seeds',
                f'none of {where} satisfies the constraints (discarded: {context.discard_summary()})',
            )
        return 'library', f'library sample exhausted: {admitted} of {where} satisfied the constraints and were scored'
