"""``aiida-znadditive adsorption``: a molecule (and water, its reference) on the Zn(002) surface."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from aiida.cmdline.utils import echo

from .codes import CP2K_CODE_OPTION
from .molecule_input import smiles_argument_callback
from .outputs import FORCE_OPTION, check_output_paths
from .params import POSITIVE, Integer
from .root import (
    GROUP_OPTION,
    PROFILE_OPTION,
    check_submit_possible,
    cmd_root,
    load_profile_or_fail,
    node_label,
    protocol_option,
    result_group,
    scheduler_options_flags,
    submit_or_report,
)


@cmd_root.command('adsorption')
@PROFILE_OPTION
@click.argument('molecule', required=False, callback=smiles_argument_callback)
@protocol_option('adsorption')
@click.option('--supercell', type=(POSITIVE, POSITIVE), help='In-plane supercell of the slab, e.g. 3 3.')
@click.option('--layers', type=Integer(min=2), help='Zn layers of the slab.')
@click.option('--keep', type=POSITIVE, help='Configurations per molecule that go on to DFT.')
@click.option('--no-water', is_flag=True, help='Skip the water reference.')
@click.option(
    '--dft-task', type=click.Choice(['relax', 'singlepoint']), help='DFT stage: relax (protocol) or single points.'
)
@click.option('--experimental-lattice', is_flag=True, help='Use the experimental Zn lattice instead of relaxing it.')
@click.option('--bulk', 'bulk_pk', type=POSITIVE, help='PK of a relaxed Zn bulk StructureData to reuse.')
@CP2K_CODE_OPTION
@click.option('--figure', type=click.Path(dir_okay=False, path_type=Path), help='Write the E_ads figure here.')
@GROUP_OPTION
@scheduler_options_flags
@click.option('--submit', is_flag=True, help='Submit to the daemon instead of running here.')
@FORCE_OPTION
def cmd_adsorption(
    profile_name,
    molecule,
    protocol,
    supercell,
    layers,
    keep,
    no_water,
    dft_task,
    experimental_lattice,
    bulk_pk,
    code,
    figure,
    group_label,
    submit,
    force,
    options,
) -> None:
    """Run SlabAdsorptionWorkChain for MOLECULE (a SMILES; none: water alone) on Zn(002) and print E_ads."""
    profile = load_profile_or_fail(profile_name, processes=True)
    from aiida.engine import run_get_node

    from ..workchains.adsorption import SlabAdsorptionWorkChain

    if figure is not None:
        check_output_paths([figure], force=force, option='--figure')  # before the calculations, not after them
    if submit:
        check_submit_possible(profile)
    file_in_group = result_group(group_label)
    overrides = protocol_overrides(supercell, layers, keep, no_water, code)
    if dft_task:
        overrides['dft'] = {'task': dft_task}
    if experimental_lattice:
        overrides['bulk'] = {'relax': False}
    bulk = load_bulk(bulk_pk)
    try:
        builder = SlabAdsorptionWorkChain.get_builder_from_protocol(
            code, molecule, protocol=protocol, overrides=overrides, bulk=bulk, options=options
        )
    except ValueError as error:
        echo.echo_critical(str(error))
    builder.metadata.label = node_label(builder.metadata.label)  # the full SMILES stays in the `molecule` input
    name = molecule or 'water'
    if submit:
        node = submit_or_report(builder, name)
        if node is None:
            sys.exit(1)
        file_in_group(node)
        echo.echo_report(f'{name}: submitted SlabAdsorptionWorkChain<{node.pk}>')
        return
    settings = builder.settings.get_dict()
    slab = settings['slab']
    echo.echo_report(
        f'{name} on Zn(002), {protocol}: {slab["supercell"][0]}x{slab["supercell"][1]} slab, {slab["layers"]} layers; '
        f'pre-rank {settings["prerank"]["settings"].get("method", "")}, best {settings["prerank"]["keep"]} to '
        f'DFT ({settings["dft"]["task"]})'
    )
    started = time.perf_counter()
    results, node = run_get_node(builder)
    elapsed = time.perf_counter() - started
    file_in_group(node)  # failed ones too: the group holds what this launch ran
    if not node.is_finished_ok:
        echo.echo_critical(f'{name}: exit {node.exit_status}: {node.exit_message} (PK {node.pk})')
    echo.echo_success(f'{name}: SlabAdsorptionWorkChain<{node.pk}> finished in {elapsed:.0f} s')
    lattice = results['lattice']
    echo.echo(
        f'  Zn lattice: a = {lattice["a"]:.4f} Å ({lattice["a_error_percent"]:+.2f}%), '
        f'c = {lattice["c"]:.4f} Å ({lattice["c_error_percent"]:+.2f}%) vs experiment'
    )
    for molecule_name in ('additive', 'water'):
        if molecule_name not in results:
            continue
        echo_table(molecule_name, results[molecule_name])
    if 'comparison' in results:
        comparison = results['comparison']
        verdict = 'binds more strongly than' if comparison['binds_stronger_than_water'] else 'binds less than'
        echo.echo(f'  the additive {verdict} water by {abs(comparison["difference"]):.3f} eV')
    target = figure or Path(f'adsorption_{node.pk}.png')
    target.write_bytes(results['figure'].get_content(mode='rb'))
    echo.echo_report(f'figure: {target} (node {results["figure"].pk})')


def load_bulk(pk: int | None):
    """The relaxed Zn bulk StructureData a user asked to reuse, or a clear error."""
    from aiida import orm
    from aiida.common.exceptions import NotExistent

    if pk is None:
        return None
    try:
        node = orm.load_node(pk)
    except NotExistent:
        echo.echo_critical(f'No node with PK {pk}.')
    if not isinstance(node, orm.StructureData):
        echo.echo_critical(f'Node {pk} is a {type(node).__name__}, not a StructureData.')
    return node


def protocol_overrides(supercell, layers, keep, no_water, code) -> dict:
    """The protocol changes the options ask for; one CP2K run at a time on a `core.direct` computer (it fills it)."""
    overrides: dict = {'slab': {}, 'prerank': {}}
    if supercell:
        overrides['slab']['supercell'] = list(supercell)
    if layers:
        overrides['slab']['layers'] = layers
    if keep:
        overrides['prerank']['keep'] = keep
    if no_water:
        overrides['water_reference'] = False
    if code.computer.scheduler_type == 'core.direct':
        overrides['max_concurrent'] = 1
    return overrides


def echo_table(name: str, outputs: dict) -> None:
    """Print the DFT configurations of one molecule, best first, with the pre-rank energy beside each."""
    table = outputs['configurations']
    prerank = {row['structure']: row for row in outputs['prerank']['rows']} if 'prerank' in outputs else {}
    echo.echo(f'  {name}: best E_ads = {outputs["adsorption_energy"].value:.3f} eV')
    echo.echo(f'    {"configuration":<22} {"E_ads/eV":>9} {"pre-rank/eV":>12} {"closest":>12} {"status":>12}')
    rows = sorted(table['rows'], key=lambda row: (row['adsorption_energy'] is None, row['adsorption_energy'] or 0))
    for row in rows:
        energy = '-' if row['adsorption_energy'] is None else f'{row["adsorption_energy"]:.3f}'
        cheap = prerank.get(row['structure'], {}).get('adsorption_energy')
        cheap_text = '-' if cheap is None else f'{cheap:.3f}'
        closest = f'{row["closest_atom"]}-Zn {row["closest_distance"]:.2f}' if 'closest_atom' in row else '-'
        echo.echo(f'    {row["label"]:<22} {energy:>9} {cheap_text:>12} {closest:>12} {row["status"]:>12}')
