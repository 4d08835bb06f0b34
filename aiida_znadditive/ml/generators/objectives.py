"""Ready-made objectives: the ZIB default, built-in function scorers, and the text form the command line reads.

The ZIB default (:func:`zib_objectives`) is cheap: the ``rules`` screener's score, a Derringer desirability that is
0 for a molecule failing any rule (elements, size, charge, logP ≤ 3 for water solubility, a Zn2+ donor, no redox
alert inside the aqueous window, SA ≤ 4.5, no PAINS) and otherwise rewards low logP, easy synthesis, chelating
donors and few Brenk toxicity alerts. With a ``gnn`` checkpoint (by default the shipped ``zib_xtb`` model, a D-MPNN
ensemble trained on our GFN2-xTB labels; see :mod:`aiida_znadditive.ml.shipped`) it adds, from the ensemble's
predictions:

- ``gnn``: the orbital window of the ``gnn`` screener as a must-pass (HOMO/LUMO inside water's window, thresholds of
  the checkpoint's level of theory), and its score (a lower confidence bound of the HOMO-LUMO gap) as a ``larger``
  desirability: from 4.5 to 7.0 eV for a DFT-level model, from 2.5 to 6.0 eV for a GFN2-level one (GFN2 compresses
  gaps: DMSO 5.1, acetone 4.1, pyridine 3.2 eV in our labels; 2.5 eV is the ``xtb`` screener's floor);
- ``zn_exchange``: when the checkpoint predicts the calibrated exchange free energy of the species at pH 4.5
  (``zn_exchange_free_energy_calibrated_ev``, on the scale of measured stability constants: acetate −0.09,
  glycinate −0.32, EDTA4− −1.07 eV), a ``window`` desirability of −1.1 to −0.05 eV with a 0.15 eV tolerance: binding
  Zn2+ more strongly than water, up to the strongest measured chelator; binding exactly like water (0) scores 0.67.
  With an older checkpoint that predicts ``zn_exchange_energy_ev`` (ΔE, uncalibrated), a ``window`` of −1.0 to
  0.0 eV with a 0.5 eV tolerance: replacing a water at Zn2+ should be favourable, but not so strongly that the
  additive holds the ion (GFN2 labels of known additives: DMSO −0.10, imidazole −0.31, acetate −0.48, sulfate −1.12
  eV; to be tuned against the complexation WorkChain's DFT numbers);
- ``solubility``: when it predicts ``solvation_free_energy_ev`` (ALPB water), a ``smaller`` desirability from −0.3
  (1) to +0.1 eV (0), weight 0.5: a nudge toward polar molecules beyond what the logP ceiling already demands. It is
  deliberately soft: water-miscible THF has only −0.06 eV (desirability 0.41), acetone −0.15 (0.62), ethylene glycol
  −0.37 (1) in our labels.

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
from .base import GeneratorError, Objective


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


#: Desirability range of the gnn score (a lower bound of the gap, eV) by the checkpoint's level-of-theory family.
GAP_DESIRABILITY = {'dft': (4.5, 7.0), 'gfn2': (2.5, 6.0)}


def zib_objectives(checkpoint: str | Path | None = 'shipped') -> list[Objective]:
    """The default objectives of a ZIB additive search (module docstring). ``checkpoint``: a ``gnn`` model folder,
    ``'shipped'`` (the shipped ``zib_xtb`` model, when this installation has it) or None (the rules score alone)."""
    objectives = [Objective(scorer='rules', key='score', name='rules')]
    if checkpoint == 'shipped':
        from ..shipped import shipped_model

        checkpoint = shipped_model('zib_xtb')
    if checkpoint is None:
        return objectives
    try:
        gnn = load_screener('gnn', checkpoint=str(checkpoint))
    except ScreenerError as error:
        raise GeneratorError(str(error)) from None
    family = gnn.ensemble.config.get('level_of_theory', {}).get('family', 'dft')
    low, high = GAP_DESIRABILITY.get(family, GAP_DESIRABILITY['dft'])
    objectives.append(
        Objective(
            scorer=gnn,
            key='score',
            name='gnn',
            desirability={'kind': 'larger', 'low': low, 'high': high},
            must_pass=True,
        )
    )
    targets = gnn.ensemble.target_names
    if 'zn_exchange_free_energy_calibrated_ev' in targets:
        objectives.append(
            Objective(
                scorer=gnn,
                key='zn_exchange_free_energy_calibrated_ev',
                name='zn_exchange',
                desirability={'kind': 'window', 'low': -1.1, 'high': -0.05, 'tolerance': 0.15},
            )
        )
    elif 'zn_exchange_energy_ev' in targets:
        objectives.append(
            Objective(
                scorer=gnn,
                key='zn_exchange_energy_ev',
                name='zn_exchange',
                desirability={'kind': 'window', 'low': -1.0, 'high': 0.0, 'tolerance': 0.5},
            )
        )
    if 'solvation_free_energy_ev' in targets:
        objectives.append(
            Objective(
                scorer=gnn,
                key='solvation_free_energy_ev',
                name='solubility',
                weight=0.5,
                desirability={'kind': 'smaller', 'low': -0.3, 'high': 0.1},
            )
        )
    return objectives


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
