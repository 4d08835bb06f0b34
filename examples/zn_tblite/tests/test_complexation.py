"""aiida-znadditive's complexation WorkChain with this package's code-less engine at both of its levels."""

from aiida.engine import run_get_node

from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain


def test_methanol_binds_zn_about_as_water_does(aiida_profile):
    """Methanol replaces one water of [Zn(H2O)6]2+ with a measured log K1 of about 0 (ΔG ≈ 0): GFN2-xTB's
    cluster-continuum ΔE in ALPB water lands within a few tenths of an eV of it, through its O."""
    builder = ZnComplexationWorkChain.get_builder_from_protocol(
        None,
        None,
        'CO',
        protocol='fast',
        prerank_calculator='tblite_ase',
        dft_calculator='tblite_ase',
        overrides={'ligand': {'conformers': 1}, 'thermochemistry': None},
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    assert results['binding_mode']['denticity'] == 1
    assert -0.6 < results['exchange_energy_solvated'].value < 0.4
    engines = {called.process_label for called in node.called_descendants}
    assert 'TbliteAseWorkChain' in engines and 'tblite_task' in engines
