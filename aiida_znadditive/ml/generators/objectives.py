"""Ready-made objectives: the ZIB default, built-in function scorers, and the text form the command line reads.

The ZIB default (:func:`zib_objectives`) is one objective: the score of the ``mechanisms`` screener
(:mod:`~aiida_znadditive.ml.screeners.mechanisms`), must-pass. It judges each molecule as its species at the
electrolyte's pH by every mechanism through which published additives work (solvation sheath, surface adsorption,
H-bond disruption, interphase, pH buffer, surfactant), combines them with a noisy OR so that an additive good by one
mechanism is not zeroed by another, and multiplies by solubility (ESOL, an aqueous-solubility model, not a logP
ceiling) and ease of synthesis. With a ``gnn`` checkpoint (by default the shipped ``zib_xtb`` model) its solvation
term reads the calibrated exchange free energy of the species and its interphase term the LUMO, each with the
ensemble's calibrated uncertainty; without one, the terms' stated descriptor fallbacks apply. The known-additive
benchmark (``benchmarks/known_additives.py``; figures in docs/source/screening.md) measures it.

It replaces a product of the ``rules`` desirability, a GFN2 gap term and an exchange-energy window, which rejected
ionic surfactants (logP), reducible interphase formers (LUMO), penalised carbonyl, amide and acid groups (the GFN2
gap) and saturated at 1.0 for hundreds of small amino alcohols that are ammonium ions at pH 4.5.

Text form of an objective (``--objective``): ``SCORER[:KEY][,OPTION=VALUE...]``, where SCORER is a screener entry
point (``rules``, ``xtb``, ``gnn``) or a built-in function (:data:`FUNCTIONS`), KEY is ``score`` (default),
``passed`` or a prediction name, and the options are ``weight``, ``kind`` (``larger``/``smaller``/``window``),
``low``, ``high``, ``tolerance``, ``must_pass``, ``name``, and ``set.NAME`` for a screener setting, e.g.
``rules:logp,kind=smaller,low=0,high=3,weight=0.5`` or ``gnn:gap_ev,kind=larger,low=4.5,high=7,set.checkpoint=DIR``.
A YAML file (``--objectives-file``) holds a list of mappings with the fields of :class:`~.base.Objective`.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from rdkit import Chem
from rdkit.Chem import QED

from ..screeners.base import ScreenerError, load_screener
from .desirability import Objective
from .errors import GeneratorError


def qed(smiles: str) -> float:
    """RDKit's quantitative estimate of drug-likeness (Bickerton 2012), in [0, 1]."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f'unreadable SMILES {smiles!r}')
    return float(QED.qed(mol))


def heavy_atoms(smiles: str) -> float:
    """The number of heavy atoms (a toy objective for tests and demonstrations)."""
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        raise ValueError(f'unreadable SMILES {smiles!r}')
    return float(mol.GetNumHeavyAtoms())


#: Built-in function scorers, by the name the text form uses.
FUNCTIONS = {'qed': qed, 'heavy_atoms': heavy_atoms}

_OPTIONS = {'weight', 'kind', 'low', 'high', 'tolerance', 'must_pass', 'name'}


def zib_objectives(checkpoint: str | Path | None = 'shipped', ph: float | None = None) -> list[Objective]:
    """The default objective of a ZIB additive search (module docstring). ``checkpoint``: a ``gnn`` model folder,
    ``'shipped'`` (the shipped ``zib_xtb`` model, when this installation has it) or None (descriptors only);
    ``ph``: the electrolyte's pH (default that of the ``mechanisms`` screener, 4.5)."""
    if checkpoint == 'shipped':
        from ..shipped import shipped_model

        checkpoint = shipped_model('zib_xtb')
    settings = {'checkpoint': None if checkpoint is None else str(checkpoint)}
    if ph is not None:
        settings['ph'] = ph
    try:
        scorer = load_screener('mechanisms', **settings)
    except ScreenerError as error:
        raise GeneratorError(str(error)) from None
    return [Objective(scorer=scorer, key='score', name='zib', must_pass=True)]


def _value(text: str):
    """A setting's value as YAML reads it (numbers, booleans, null), else the text."""
    try:
        return yaml.safe_load(text.strip())
    except yaml.YAMLError:
        return text.strip()


def parse_objective(spec: str, checkpoint: str | Path | None = None) -> Objective:
    """An :class:`~.base.Objective` from its text form (module docstring); ``checkpoint`` is given to a ``gnn``
    scorer that has none."""
    head, *options = [part.strip() for part in spec.split(',')]
    scorer, _, key = head.partition(':')
    scorer = scorer.strip()
    if not scorer:
        raise GeneratorError(f'objective {spec!r}: no scorer named (SCORER[:KEY][,OPTION=VALUE...])')
    fields: dict = {'key': key.strip() or 'score'}
    desirability: dict = {}
    settings: dict = {}
    for option in options:
        name, equals, text = option.partition('=')
        name = name.strip()
        if not equals:
            raise GeneratorError(f'objective {spec!r}: option {option!r} is not NAME=VALUE')
        if name.startswith('set.'):
            settings[name[4:]] = _value(text)
        elif name in {'kind', 'low', 'high', 'tolerance'}:
            desirability[name] = text.strip() if name == 'kind' else float(text)
        elif name == 'weight':
            fields['weight'] = float(text)
        elif name == 'must_pass':
            fields['must_pass'] = bool(_value(text))
        elif name == 'name':
            fields['name'] = text.strip()
        else:
            known = ', '.join(sorted(_OPTIONS))
            raise GeneratorError(f'objective {spec!r}: unknown option {name!r}; known: {known}, set.NAME')
    if desirability:
        if 'kind' not in desirability:
            raise GeneratorError(f'objective {spec!r}: low/high/tolerance need kind=larger|smaller|window')
        fields['desirability'] = desirability
    return _objective(scorer, fields, settings, checkpoint, spec)


def _objective(scorer: str, fields: dict, settings: dict, checkpoint, where: str) -> Objective:
    if scorer in FUNCTIONS:
        if settings:
            raise GeneratorError(f'objective {where!r}: the function {scorer} takes no settings')
        if fields.get('key', 'score') != 'score':
            raise GeneratorError(f'objective {where!r}: the function {scorer} has only a score (no :KEY)')
        fields.setdefault('name', scorer)
        return Objective(scorer=FUNCTIONS[scorer], **fields)
    if scorer == 'gnn' and checkpoint is not None:
        settings.setdefault('checkpoint', str(checkpoint))
    return Objective(scorer=scorer, settings=settings, **fields)


def load_objectives_file(path: str | Path, checkpoint: str | Path | None = None) -> list[Objective]:
    """Objectives from a YAML list of mappings (``scorer``, ``key``, ``weight``, ``desirability``, ``must_pass``,
    ``name``, ``settings``)."""
    path = Path(path)
    try:
        entries = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise GeneratorError(f'cannot read objectives from {path}: {error}') from None
    if not isinstance(entries, list) or not entries:
        raise GeneratorError(f'{path}: expected a non-empty YAML list of objectives')
    allowed = {'scorer', 'key', 'weight', 'desirability', 'must_pass', 'name', 'settings'}
    objectives = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or 'scorer' not in entry:
            raise GeneratorError(f'{path}: objective {number} is not a mapping with a `scorer`')
        unknown = sorted(set(entry) - allowed)
        if unknown:
            raise GeneratorError(f'{path}: objective {number} has unknown field(s) {", ".join(unknown)}')
        fields = {key: value for key, value in entry.items() if key not in {'scorer', 'settings'}}
        objectives.append(
            _objective(str(entry['scorer']), fields, dict(entry.get('settings') or {}), checkpoint, f'{path}#{number}')
        )
    return objectives
