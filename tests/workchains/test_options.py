"""Scheduler ``options`` of ZnComplexationWorkChain: they reach every calculation and no reference key.

Moving to another queue, account or walltime changes nothing computed, so references computed with one set of
options must be found again with another.
"""

from __future__ import annotations

import pytest
from aiida import orm
from aiida.engine import run_get_node
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiida_znadditive.workchains.complexation import ZnComplexationWorkChain
from aiida_znadditive.workchains.references import EXTRA, find_reference, reference_key

OPTIONS = {'max_wallclock_seconds': 1200, 'prepend_text': 'echo options-reached-the-job'}
OTHER_OPTIONS = {'max_wallclock_seconds': 3600, 'account': 'other-project', 'queue_name': 'long'}


def test_unknown_option_is_named(znadditive_codes):
    port = ZnComplexationWorkChain.spec().inputs['options']
    error = port.validate(orm.Dict({'wallclock': 60, 'queue_name': 'debug'}))
    assert error is not None and "unknown keys ['wallclock']" in error.message
    assert port.validate(orm.Dict(OTHER_OPTIONS)) is None


def test_options_reach_every_calculation_but_no_reference_key(aiida_profile_clean, znadditive_codes):
    """A real cheap-level run (water as the additive) with options: every CalcJob carries them; the reference keys
    computed with other options are the same, so a run on another queue finds these references. A clean storage:
    references computed by an earlier test on this worker would be reused, and this run would compute none."""
    xtb = znadditive_codes['xtb']
    builder = ZnComplexationWorkChain.get_builder_from_protocol(xtb, xtb, 'O', dft_calculator='xtb', options=OPTIONS)
    assert builder.options.get_dict() == OPTIONS
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    calcjobs = [n for n in node.called_descendants if isinstance(n, orm.CalcJobNode)]
    assert calcjobs
    for calcjob in calcjobs:
        assert calcjob.get_option('max_wallclock_seconds') == OPTIONS['max_wallclock_seconds']
        assert calcjob.get_option('prepend_text') == OPTIONS['prepend_text']
        # the protocol's own options stay where the caller set none
        assert calcjob.get_option('resources')['num_machines'] == 1
    references = [n for n in node.called if EXTRA in n.base.extras]
    assert {n.label.split('_')[-1] for n in references} >= {'hexaaqua', 'water'}
    for reference in references:
        inputs = {key: reference.inputs[key] for key in reference.inputs}
        assert inputs['options'].get_dict() == OPTIONS
        species = reference.base.extras.get(EXTRA).split('|')[0]
        moved = {**inputs, 'options': orm.Dict(OTHER_OPTIONS)}
        key = reference_key(species, moved)
        assert key == reference.base.extras.get(EXTRA)
        assert find_reference(key).pk == reference.pk
        assert key == reference_key(species, {k: v for k, v in inputs.items() if k != 'options'})


@pytest.mark.parametrize('protocol', ['fast'])
def test_builder_without_options_has_none(znadditive_codes, protocol):
    """No ``options``: the port stays empty, so the regression files of the builders and old reference keys hold."""
    xtb = znadditive_codes['xtb']
    builder = ZnComplexationWorkChain.get_builder_from_protocol(xtb, xtb, 'CO', protocol=protocol)
    assert 'options' not in builder


def test_cli_flags_become_options():
    """acwf-style flags -> CalcJob options; only what is given (the protocols keep the rest)."""
    from click.testing import CliRunner

    from aiida_znadditive.cli.complexation import cmd_complexation
    from aiida_znadditive.cli.root import Walltime, scheduler_options

    assert scheduler_options(walltime=None) is None
    options = scheduler_options(
        num_machines=2, num_mpiprocs_per_machine=64, walltime=5400, account='p1', queue_name='cpu',
        scheduler_lines=('#SBATCH --constraint=cpu', '#SBATCH --exclusive'),
    )  # fmt: skip
    assert options == {
        'resources': {'num_machines': 2, 'num_mpiprocs_per_machine': 64},
        'max_wallclock_seconds': 5400,
        'account': 'p1',
        'queue_name': 'cpu',
        'custom_scheduler_commands': '#SBATCH --constraint=cpu\n#SBATCH --exclusive',
    }
    walltime = Walltime()
    assert [walltime.convert(v, None, None) for v in ('3600', '90:00', '01:30:00', '1-00:00:00')] == [
        3600, 5400, 5400, 86400,
    ]  # fmt: skip
    for bad in ('0', '-5', '1.5h', 'inf', '01:75:00', '00:00:61'):
        result = CliRunner().invoke(cmd_complexation, ['CO', '--walltime', bad])
        assert result.exit_code == 2, (bad, result.output)
        assert '--walltime' in result.output
    result = CliRunner().invoke(cmd_complexation, ['CO', '--num-machines', '0'])
    assert result.exit_code == 2 and '--num-machines' in result.output


@pytest.mark.parametrize('workchain', ['complexation', 'solvation', 'adsorption', 'campaign'])
def test_every_workchain_takes_checked_options(workchain, aiida_profile):
    """One `options` port on every WorkChain, with the same check of its keys (issue 22)."""
    from aiida.plugins import WorkflowFactory

    port = WorkflowFactory(f'znadditive.{workchain}').spec().inputs['options']
    assert not port.required
    error = port.validate(orm.Dict({'wallclock': 60}))
    assert error is not None and "unknown keys ['wallclock']" in error.message
    assert port.validate(orm.Dict(OTHER_OPTIONS)) is None


def test_solvation_and_adsorption_builders_carry_options_over_the_protocol(aiida_localhost):
    from aiida_znadditive.workchains.adsorption import SlabAdsorptionWorkChain
    from aiida_znadditive.workchains.solvation import SolvationShellWorkChain

    code = orm.InstalledCode(
        computer=aiida_localhost, filepath_executable='/bin/true', label='cp2k-options', default_calc_job_plugin='cp2k'
    )
    solvation = SolvationShellWorkChain.get_builder_from_protocol(code, 'CS(C)=O', options=OTHER_OPTIONS)
    assert solvation.options.get_dict() == OTHER_OPTIONS
    assert 'options' not in SolvationShellWorkChain.get_builder_from_protocol(code, 'CS(C)=O')
    adsorption = SlabAdsorptionWorkChain.get_builder_from_protocol(code, 'CS(C)=O', options=OTHER_OPTIONS)
    protocol = SlabAdsorptionWorkChain.get_builder_from_protocol(code, 'CS(C)=O')
    # the caller's options over the protocol's: the protocol's resources stay where the caller set none
    expected = {**(protocol.options.get_dict() if 'options' in protocol else {}), **OTHER_OPTIONS}
    assert adsorption.options.get_dict() == expected
    # and they are in no part of the settings the reuse keys hash
    assert adsorption.settings.get_dict() == protocol.settings.get_dict()


#: What reaches a job script's header from a run's options (names from a campaign file, a CLI flag, a script)
hostile_texts = st.one_of(
    st.sampled_from(['x\ntouch pwned', 'debug; touch pwned', 'q"$(touch pwned)"', 'a b', '', 'debug\n', '#SBATCH']),
    st.text(alphabet='abcXYZ019_-.:;$"\'`\\ \n\r\t#=@+()', max_size=30),
    st.text(max_size=30),
)


def render(options: dict) -> str:
    """The job script aiida-core's SLURM scheduler writes for ``options`` (as for every CalcJob of the platform)."""
    from aiida.common.datastructures import CodeInfo, CodeRunMode
    from aiida.schedulers.datastructures import JobTemplate
    from aiida.schedulers.plugins.slurm import SlurmScheduler

    scheduler = SlurmScheduler()
    template = JobTemplate()
    template.job_resource = scheduler.create_job_resource(num_machines=1, num_mpiprocs_per_machine=1)
    template.job_name = 'aiida-1'
    template.account = options.get('account')
    template.queue_name = options.get('queue_name')
    template.qos = options.get('qos')
    template.custom_scheduler_commands = options.get('custom_scheduler_commands', '')
    code = CodeInfo({'cmdline_params': ['xtb', 'input.xyz'], 'stdout_name': 'xtb.out',
                     'use_double_quotes': [False, False], 'prepend_cmdline_params': [],
                     'wrap_cmdline_params': False})  # fmt: skip
    template.codes_info, template.codes_run_mode = [code], CodeRunMode.SERIAL
    return scheduler.get_submit_script(template)


def test_scheduler_names_and_lines_stay_directives_in_the_job_script():
    """aiida-core writes ``account``, ``queue_name``, ``qos`` and ``custom_scheduler_commands`` into the job script as
    given: a newline in an account name would run the next line on the cluster. Fuzzed: options the check accepts
    give a script whose only command is the engine's run line (``bash -n`` parses it); the rest is refused by name."""
    import subprocess

    from aiida_znadditive.workchains.options import check_scheduler_text

    accepted, refused = [], []

    @settings(max_examples=300, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(key=st.sampled_from(['account', 'queue_name', 'qos', 'custom_scheduler_commands']), text=hostile_texts)
    def run(key, text):
        options = {key: text}
        problem = check_scheduler_text(options)
        if problem is not None:
            assert f'options.{key}' in problem
            refused.append(text)
            return
        accepted.append(text)
        script = render(options)
        commands = [line for line in script.splitlines() if line.strip() and not line.lstrip().startswith('#')]
        assert commands == ["'xtb' 'input.xyz'  > 'xtb.out'"], (options, script)
        assert subprocess.run(['bash', '-n'], input=script, text=True, check=False).returncode == 0, script

    run()
    assert check_scheduler_text({'account': 'x\ntouch pwned'}) and check_scheduler_text({'account': 'debug\n'})
    assert check_scheduler_text({'custom_scheduler_commands': '#SBATCH --exclusive\nrm -rf ~'})
    assert check_scheduler_text({'queue_name': 'cpu', 'account': 'proj_1', 'qos': 'normal'}) is None
    assert len(accepted) >= 20 and len(refused) >= 100, (len(accepted), len(refused))


def test_cli_refuses_a_scheduler_flag_that_would_not_stay_a_directive():
    from click.testing import CliRunner

    from aiida_znadditive.cli.complexation import cmd_complexation

    for flag, value in (
        ('--account', 'p1\ntouch pwned'),
        ('--queue', 'debug;id'),
        ('--scheduler-line', 'module load x'),
    ):
        result = CliRunner().invoke(cmd_complexation, ['CO', flag, value])
        assert result.exit_code == 2, (flag, result.output)
        assert flag in result.output and 'Traceback' not in result.output
