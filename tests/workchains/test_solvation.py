"""SolvationShellWorkChain: protocols, a real (tiny) CP2K GFN1-xTB run in three segments, and bad input.

CI runs a few MD steps of a tiny box for the mechanics (segment chaining, splicing, analysis shapes, units); the
physics of a real run (first Zn-O peak 2.0-2.2 Å, CN 6 over picoseconds) is in ``benchmarks/solvation.py`` and the
README's quickstart, recorded in the docs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from aiida.engine import run_get_node

from aiida_znadditive.provenance.report import write_tables
from aiida_znadditive.provenance.solvation import solvation_table
from aiida_znadditive.workchains.solvation import SolvationShellWorkChain

#: 8 waters, Zn2+ and sulfate at 1 g/cm3: an 8.0 Å box, ~0.1 s per GFN1-xTB step on 2 cores.
TINY = {
    'box': {'n_waters': 8},
    'md': {'total_ps': 0.03, 'segment_ps': 0.01, 'equilibration_ps': 0.005, 'trajectory_stride': 5},
    'analysis': {'r_max': 3.9, 'n_bins': 39},
    'options': {'max_wallclock_seconds': 600},
}


def builder_for(code, additive=None, overrides=None, **kwargs):
    from aiida_znadditive.protocols import recursive_merge

    return SolvationShellWorkChain.get_builder_from_protocol(
        code, additive, protocol='fast', overrides=recursive_merge(TINY, overrides or {}), **kwargs
    )


@pytest.mark.parametrize('protocol', ['fast', 'moderate', 'precise'])
def test_protocol_builder_regression(protocol, cp2k_code, data_regression):
    # The project's code, not aiida's `aiida_localhost`: that fixture's computer (also labelled `localhost`) lacks
    # the MPI-as-root environment, and `setup` never modifies an existing computer.
    builder = SolvationShellWorkChain.get_builder_from_protocol(cp2k_code, 'CS(C)=O', protocol=protocol)
    settings = builder.settings.get_dict()
    data_regression.check({'settings': settings, 'start': builder.start.value}, basename=f'solvation_{protocol}')
    # Every protocol's box must hold its own RDF range (the WorkChain would refuse it otherwise).
    box = settings['box']
    mass = box['n_waters'] * 18.015 + 65.38 + 96.06
    assert (mass / (box['density'] * 0.60221)) ** (1 / 3) >= 2 * settings['analysis']['r_max']


def test_unknown_protocol_is_named(cp2k_code):
    with pytest.raises(ValueError, match='Unknown protocol `slow`'):
        SolvationShellWorkChain.get_builder_from_protocol(cp2k_code, protocol='slow')


@pytest.mark.integration
def test_tiny_box_in_three_segments(cp2k_code, tmp_path):
    """30 steps of 1 fs in 3 segments: one spliced trajectory, a finite analysis, Zn2+ still six-coordinate."""
    results, node = run_get_node(builder_for(cp2k_code))
    assert node.is_finished_ok, node.exit_message
    segments = sorted(
        (link.node for link in node.base.links.get_outgoing().all() if link.link_label.startswith('segment_')),
        key=lambda segment: segment.pk,
    )
    assert len(segments) == 3
    assert all(segment.is_finished_ok for segment in segments)

    trajectory = results['trajectory']
    assert trajectory.get_stepids().tolist() == [0, 5, 10, 15, 20, 25, 30]
    assert np.allclose(trajectory.get_times(), np.arange(7) * 0.005)  # ps
    assert trajectory.numsites == len(results['structure'].sites)
    assert np.allclose(trajectory.get_cells()[0], results['structure'].cell)

    system = results['system'].get_dict()
    assert system['charge'] == 0  # Zn2+ + SO4 2-
    assert len(system['groups']['water']) == 8

    rdf = results['rdf']
    assert rdf.get_array('r').shape == (39,)
    assert rdf.get_array('g_water').shape == (39,)
    assert np.all(np.isfinite(rdf.get_array('g_water')))
    summary = results['results'].get_dict()
    water = summary['groups']['water']
    assert 1.8 < water['first_peak'] < 2.4  # Å; 30 fs from the octahedron at 2.09 Å
    assert 5.0 <= water['coordination'] <= 6.5
    assert water['shell_fraction'] == 1.0
    assert water['residence_censored'] is True  # no water leaves Zn2+ in 30 fs
    assert summary['n_frames'] == 6  # the frame at t = 0 is equilibration
    statistics = results['md_statistics'].get_dict()
    assert 0 < statistics['temperature_mean'] < 2000
    assert results['figure'].get_content(mode='rb')[:8] == b'\x89PNG\r\n\x1a\n'
    # Water's H-bond network of the same frames (tests/analysis/test_hbonds.py checks the criterion): of eight
    # waters six sit on Zn2+ and donate to the sulfate beside them, which is no water-water bond (0 here, where bulk
    # water has about 3.5); 5 blocks of the 6 frames.
    hbonds = results['hbonds'].get_dict()
    assert results['hbonds'].creator.process_type.endswith('analyse_hbond_network')
    assert 0.0 <= hbonds['hbonds_per_water']['mean'] < 2.0 and len(hbonds['hbonds_per_water']['blocks']) == 5
    assert -1.0 < hbonds['tetrahedral_order_q']['mean'] < 1.0 and hbonds['n_waters'] == 8 and hbonds['n_frames'] == 6
    # 25 fs analysed: too short for diffusion (at least 1 ps and 20 frames), so no `transport`, and nothing else lost.
    assert 'transport' not in results

    # The paper layer's row: the numbers of the `results` Dict, which it names, and the level from the segments.
    row = solvation_table([node]).iloc[0]
    assert (row['additive'], row['start'], row['workchain_uuid']) == ('water', 'hydrated', node.uuid)
    assert row['water_cn'] == water['coordination'] and row['water_peak'] == water['first_peak']
    assert row['results_uuid'] == results['results'].uuid
    assert row['temperature'] == statistics['temperature_mean']
    assert (
        row['hbonds_per_water'] == hbonds['hbonds_per_water']['mean'] and row['hbonds_uuid'] == results['hbonds'].uuid
    )
    assert row['D_water'] is None and row['transport_uuid'] is None  # too short for diffusion
    assert 'cp2k' in row['level']
    written = write_tables('solvation', [node], tmp_path, formats=('csv', 'md'))
    assert written['files'] == [
        f'solvation{end}' for end in ('.csv', '.md', '.png', '.png.json', '_rdf.png', '_rdf.png.json')
    ]
    assert written['rows'] == 1
    sidecar = json.loads((tmp_path / 'solvation.png.json').read_text())
    assert sidecar['rows'] == [{'label': 'water', 'workchain_uuid': node.uuid, 'value_uuid': results['results'].uuid}]
    # the g(r) and n(r) of the run, read from its `rdf` output, with the coordination number of the table
    (curve,) = json.loads((tmp_path / 'solvation_rdf.png.json').read_text())['rows']
    assert (curve['label'], curve['workchain_uuid'], curve['value_uuid']) == ('water', node.uuid, results['rdf'].uuid)
    assert curve['coordination'] == {
        group: pytest.approx(values['coordination']) for group, values in summary['groups'].items()
    }
    assert 'water_cn' in (tmp_path / 'solvation.md').read_text()


@pytest.mark.parametrize(
    ('additive', 'overrides', 'exit_code'),
    [
        (None, {'analysis': {'r_max': 6.0}}, 'ERROR_BOX_TOO_SMALL'),  # an 8 Å box cannot hold a 6 Å RDF
        ('C1CC', {}, 'ERROR_INVALID_MOLECULE'),  # invalid SMILES
        ('CCCCCCCCCC(=O)O', {'box': {'n_additives': 6}}, 'ERROR_PACKING_FAILED'),  # six decanoic acids do not fit
        (
            'O=[Se]=O',
            {'box': {'allowed_elements': ['O', 'Se'], 'n_waters': 16}, 'calculator': {'settings': {'method': 'dft'}}},
            'ERROR_UNSUPPORTED_ELEMENTS',
        ),  # Se: no DZVP-MOLOPT-SR/GTH in the DFT protocol
    ],
)
def test_bad_input_ends_before_md(cp2k_code, additive, overrides, exit_code):
    _, node = run_get_node(builder_for(cp2k_code, additive, overrides))
    assert node.exit_status == SolvationShellWorkChain.exit_codes[exit_code].status, node.exit_message
    assert node.exit_message
    assert not [child for child in node.called if child.process_label == 'CalculatorWorkChain']
