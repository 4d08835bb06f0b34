"""The solvation report's g(r) figure, on an rdf node and a table made by hand (no engine)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from aiida import orm

from aiida_znadditive.provenance.solvation import extra_figures


def test_rdf_figure_draws_every_run_and_names_its_rdf_node(aiida_profile, tmp_path):
    r = np.linspace(0.05, 6.0, 60)
    nodes = []
    for height in (8.0, 6.0):
        rdf = orm.ArrayData()
        rdf.set_array('r', r)
        rdf.set_array('g_water', height * np.exp(-((r - 2.1) ** 2) / 0.02))
        rdf.set_array('n_water', 6.0 * (r > 2.3))
        nodes.append(rdf.store())
    columns = ('additive', 'start', 'water_cn', 'rdf_uuid', 'workchain_uuid')
    table = pd.DataFrame(
        [
            ('water', 'hydrated', 6.0, nodes[0].uuid, 'a'),
            ('CS(C)=O', 'bound', 5.0, nodes[1].uuid, 'b'),
            ('O', None, None, None, 'c'),  # a run without an rdf output
        ],
        columns=columns,
    )
    written = extra_figures(table, tmp_path, 'solvation', 'a level')
    assert written == ['solvation_rdf.png', 'solvation_rdf.png.json']
    rows = json.loads((tmp_path / 'solvation_rdf.png.json').read_text())['rows']
    assert [(row['label'], row['value_uuid'], row['coordination']) for row in rows] == [
        ('water', nodes[0].uuid, {'water': 6.0}),
        ('CS(C)=O', nodes[1].uuid, {'water': 5.0}),
    ]
    assert (tmp_path / 'solvation_rdf.png').stat().st_size > 5_000
    assert extra_figures(table.iloc[2:], tmp_path, 'none', 'a level') == []  # no run with an rdf: no figure
