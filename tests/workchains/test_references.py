"""Reference keys: the same level of theory finds the same key, any difference gives another."""

from aiida import orm

from aiida_znadditive.workchains.references import find_reference, reference_key, settings_hash, tag_reference


def inputs(code, structure, protocol='fast', solvent=None):
    values = {
        'calculator': orm.Str('xtb'),
        'code': code,
        'structure': structure,
        'task': orm.Str('relax'),
        'protocol': orm.Str(protocol),
    }
    if solvent:
        values['solvent'] = orm.Str(solvent)
    return values


def test_reference_key_tracks_level_of_theory(znadditive_codes):
    code = znadditive_codes['xtb']
    water = orm.StructureData(cell=[[10, 0, 0], [0, 10, 0], [0, 0, 10]])
    water.append_atom(position=(0, 0, 0), symbols='O')
    moved = water.clone()
    moved.reset_sites_positions([[0.1, 0, 0]])
    water.store()
    moved.store()
    key = reference_key('water', inputs(code, water))
    assert key == reference_key('water', inputs(code, water.clone().store()))  # same content, same key
    assert key != reference_key('water', inputs(code, moved))
    assert key != reference_key('water', inputs(code, water, protocol='moderate'))
    assert key != reference_key('water', inputs(code, water, solvent='water'))
    assert settings_hash('pyscf', 'fast') != settings_hash('pyscf', 'precise')
    # Settings overrides (a looser threshold) are another level of theory; no overrides keep the old key.
    loose = {**inputs(code, water), 'settings': orm.Dict({'accuracy': 2.0})}
    assert key != reference_key('water', loose)
    assert settings_hash('pyscf', 'fast', {}) == settings_hash('pyscf', 'fast')


def test_find_reference_returns_only_successful_tagged_nodes(aiida_profile_clean):
    node = orm.WorkflowNode()
    node.set_exit_status(0)
    node.store()
    assert find_reference('water|test') is None
    tag_reference(node, 'water|test')
    assert find_reference('water|test').pk == node.pk
    failed = orm.WorkflowNode()
    failed.set_exit_status(300)
    failed.store()
    tag_reference(failed, 'water|other')
    assert find_reference('water|other') is None
