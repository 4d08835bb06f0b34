"""The campaign's ranking: one calcfunction whose inputs are the very output nodes of the physics WorkChains.

Each candidate's score is a weighted sum of terms in eV, each signed so that larger is better:

- ``binding``: ``-ΔG`` of exchanging a water of [Zn(H2O)6]2+ for the additive (the complexation WorkChain's
  calibrated exchange free energy where it has one, else its exchange free energy, else the C-PCM exchange energy).
  An additive that enters the Zn2+ solvation sheath reduces the water that reaches the anode with the ion.
- ``adsorption``: ``-(E_ads(additive) - E_ads(water))`` on Zn(002), from the adsorption WorkChain's ``comparison``.
  An additive that binds the surface more strongly than water displaces it from the electrode.

A term a candidate lacks (a stage it did not reach or that failed) is left out of its sum and named in ``missing``;
candidates with every weighted term rank before those with fewer, so an incomplete candidate never outranks a
complete one on a partial score. Because the calcfunction takes the nodes themselves as inputs, the provenance graph
links every number of the ranking to the calculation that produced it, and each row also names their UUIDs.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import calcfunction

#: term -> the ``<term>__<key>`` input that carries it
TERMS = ('binding', 'adsorption')
SEPARATOR = '__'


#: what a candidate's screeners predicted for its Zn2+ exchange, best first: the calibrated free energy the shipped
#: models learn, then the raw energy of older models; any screener that carried the prediction (gnn, mechanisms)
PREDICTED_EXCHANGE = ('zn_exchange_free_energy_calibrated_ev', 'zn_exchange_free_energy_ev', 'zn_exchange_energy_ev')


def predicted_exchange(predictions: dict) -> float | None:
    """A promoted candidate's predicted exchange (free) energy from its ``predictions`` (``<screener>.<target>``
    keys), the number the campaign's computed ``binding`` term is set against."""
    for target in PREDICTED_EXCHANGE:
        for key, value in predictions.items():
            if key.split('.')[-1] == target and value is not None:
                return float(value)
    return None


def term_inputs(term: str, key: str, node: orm.Data) -> dict:
    """The ``rank_candidates`` keyword for candidate ``key``'s ``term`` (``node``: a Float, or the comparison Dict)."""
    if term not in (*TERMS, 'candidate'):
        raise ValueError(f'unknown ranking term `{term}`; known: {", ".join(TERMS)}')
    return {f'{term}{SEPARATOR}{key}': node}


def _value(term: str, node: orm.Data) -> float:
    if term == 'adsorption':
        # comparison Dict of SlabAdsorptionWorkChain: E_ads(additive) - E_ads(water), eV
        return -float(node['difference'])
    return -float(node.value)


@calcfunction
def rank_candidates(weights: orm.Dict, failures: orm.Dict, **nodes) -> orm.Dict:
    """Rank the campaign's candidates. ``weights``: ``{term: weight}``; ``failures``: ``{stage: {key: why}}`` of the
    children that failed (copied into the ranking, so the report says what failed and why); ``nodes``:
    ``candidate__<key>`` (the promoted candidate Dict) and ``<term>__<key>`` for every term a candidate has (see
    :func:`term_inputs`)."""
    weights = {term: float(weight) for term, weight in weights.get_dict().items() if float(weight) != 0.0}
    unknown = sorted(set(weights) - set(TERMS))
    if unknown:
        raise ValueError(f'unknown ranking terms {unknown}; known: {", ".join(TERMS)}')
    rows = {}
    for name, node in nodes.items():
        term, key = name.split(SEPARATOR, 1)
        row = rows.setdefault(key, {'key': key, 'terms': {}})
        if term == 'candidate':
            row.update(smiles=node['smiles'], inchikey=node['inchikey'], predicted_score=node['score'])
            row['candidate_uuid'] = node.uuid
        else:
            row['terms'][term] = {'value': _value(term, node), 'uuid': node.uuid, 'weight': weights.get(term, 0.0)}
    for row in rows.values():
        present = [term for term in weights if term in row['terms']]
        row['missing'] = [term for term in weights if term not in row['terms']]
        row['score'] = sum(weights[term] * row['terms'][term]['value'] for term in present) if present else None
    ordered = sorted(
        rows.values(),
        key=lambda row: (len(row['missing']), -(row['score'] if row['score'] is not None else -1e9), row['key']),
    )
    for rank, row in enumerate(ordered, start=1):
        row['rank'] = rank
    return orm.Dict({'weights': weights, 'units': 'eV', 'rows': ordered, 'failures': failures.get_dict()})
