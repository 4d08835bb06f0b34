"""The campaign report's Pareto front and its figure, on a table made by hand (no engine)."""

from __future__ import annotations

import json

import pandas as pd

from aiida_znadditive.provenance.campaign import comparison_figures, pareto_front


def test_pareto_front_keeps_exactly_the_points_nothing_beats_in_both_terms():
    points = [(1.0, 0.0), (0.5, 0.5), (0.0, 1.0), (0.4, 0.4), (1.0, -0.1), (0.5, 0.5)]
    # (0.4, 0.4) is beaten by (0.5, 0.5); (1.0, -0.1) by (1.0, 0.0); equal points do not beat each other
    assert pareto_front(points) == [True, True, True, False, False, True]
    assert pareto_front([(0.2, 0.3)]) == [True]


def test_pareto_figure_names_the_front_and_the_nodes_behind_each_point(tmp_path):
    rows = [
        ('CS(C)=O', 0.30, 0.10, None),
        ('OCCO', 0.10, 0.40, -0.05),
        ('CO', 0.05, 0.05, -0.02),
        ('O', 0.00, None, 0.00),  # no adsorption term: on neither axis of the Pareto figure
    ]
    table = pd.DataFrame(
        [
            {
                'smiles': smiles,
                'binding': binding,
                'dG_exchange': -binding,
                'adsorption': adsorption,
                'predicted_exchange': predicted,
                'binding_uuid': f'b-{smiles}',
                'adsorption_uuid': None if adsorption is None else f'a-{smiles}',
                'candidate_uuid': f'c-{smiles}',
                'workchain_uuid': 'campaign',
            }
            for smiles, binding, adsorption, predicted in rows
        ]
    )
    written = comparison_figures(table, tmp_path, 'campaign', 'a level')
    assert written == [f'campaign_{kind}.png{end}' for kind in ('parity', 'pareto') for end in ('', '.json')]
    pareto = json.loads((tmp_path / 'campaign_pareto.png.json').read_text())
    front = [(row['smiles'], row['pareto']) for row in pareto['rows']]
    assert front == [('CS(C)=O', True), ('OCCO', True), ('CO', False)]
    assert [row['value_uuid'] for row in pareto['rows']] == ['a-CS(C)=O', 'a-OCCO', 'a-CO']
    parity = json.loads((tmp_path / 'campaign_parity.png.json').read_text())
    assert [row['smiles'] for row in parity['rows']] == ['OCCO', 'CO', 'O']  # DMSO has no prediction
    assert parity['mean_absolute_difference_ev'] == round((0.05 + 0.03 + 0.0) / 3, 6)
    assert (tmp_path / 'campaign_pareto.png').stat().st_size > 5_000
