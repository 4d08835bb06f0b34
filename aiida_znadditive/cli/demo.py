"""``aiida-znadditive demo``: the quickstart calculation on the embedded profile."""

from __future__ import annotations

from aiida.cmdline.utils import echo

from .codes import code_option
from .root import PROFILE_OPTION, cmd_root, load_profile_or_fail


@cmd_root.command('demo')
@PROFILE_OPTION
@code_option(
    '--code',
    calculator='pyscf',
    default='pyscf@localhost',
    show_default=True,
    help='PySCF code (label@computer, PK or UUID).',
)
def cmd_demo(profile_name, code) -> None:
    """Run a real B3LYP-D3(BJ)/def2-SVP single point on [Zn(H2O)6]2+ with PySCF (about 2 minutes on 2 cores)."""
    profile = load_profile_or_fail(profile_name)
    from ase.units import Hartree

    from ..orchestration.demo import run_demo

    echo.echo_report(f'Profile `{profile.name}`: running PySCF on [Zn(H2O)6]2+ (B3LYP-D3BJ/def2-SVP, energy + forces)')
    try:
        result = run_demo(code)
    except RuntimeError as exception:
        echo.echo_critical(str(exception))
    node = result.workchain
    energy = result.outputs['energy'].value
    geometry = result.geometry
    calculation = next(n for n in node.called_descendants if n.process_label == 'ZnPyscfCalculation')
    timings = calculation.outputs.parameters['timings']
    echo.echo_success(f'[Zn(H2O)6]2+ total energy: {energy:.6f} eV ({energy / Hartree:.8f} Ha)')
    echo.echo(f'  HOMO {result.outputs["homo"].value:.3f} eV, LUMO {result.outputs["lumo"].value:.3f} eV')
    echo.echo(f'  Zn-O distances (Å): {", ".join(f"{d:.3f}" for d in geometry["distances"]["Zn-O"])}')
    echo.echo(
        f'  coordination number {geometry["coordination_number"]}, '
        f'max deviation from octahedral angles {geometry["octahedral_max_angle_deviation"]:.2f}°'
    )
    echo.echo(f'  PySCF wall time: {timings["total"]:.0f} s (SCF {timings["mean_field"]:.0f} s)')
    echo.echo(f'  CalculatorWorkChain PK {node.pk}, UUID {node.uuid}; PySCF calculation PK {calculation.pk}')
    echo.echo(f'  see it with: verdi -p {profile.name} process list -a')
    echo.echo(f'               verdi -p {profile.name} node graph generate {node.pk}')
