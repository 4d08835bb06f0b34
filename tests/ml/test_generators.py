"""Generators (``znadditive.generators``): objectives, constraints, budget, Pareto ranking, the graph GA and the random
library baseline, and ``aiida-znadditive gen run`` as a user runs it, bad input included."""

from __future__ import annotations

import csv
import json
import math

import pytest
from click.testing import CliRunner
from rdkit import Chem

from aiida_znadditive.cli import cmd_root
from aiida_znadditive.cli.generate import SCALARISATIONS as CLI_SCALARISATIONS
from aiida_znadditive.cli.generate import SELECTIONS as CLI_SELECTIONS
from aiida_znadditive.ml.generators import (
    Constraints,
    Desirability,
    Generator,
    GeneratorError,
    Objective,
    Scalarisation,
    ScorerBudget,
    crowding_distances,
    generator_names,
    load_generator,
    pareto_order,
    pareto_ranks,
)
from aiida_znadditive.ml.generators import base as generators_base
from aiida_znadditive.ml.generators import pareto as generators_pareto
from aiida_znadditive.ml.generators import scoring as generators_scoring
from aiida_znadditive.ml.generators.objectives import (
    heavy_atoms,
    load_objectives_file,
    parse_objective,
    zib_objectives,
)
from aiida_znadditive.ml.screeners.base import Screener, Screening

# Small additive-like seeds (every one satisfies SMALL below).
SEEDS = [
    'OCC(O)CO',
    'CCO',
    'CC(=O)O',
    'OCCOCCO',
    'NCCO',
    'c1ccncc1',
    'CC(=O)N(C)C',
    'C1COC(=O)O1',
    'OC(=O)CC(O)(CC(=O)O)C(=O)O',
    'CCOC(=O)C',
    'NC(N)=O',
    'OC1CCCCC1',
    'c1ccc(O)cc1',
    'CC(O)CO',
    'OCC(=O)O',
    'NCC(=O)O',
]
SMALL = Constraints(elements=('H', 'C', 'N', 'O'), max_heavy_atoms=30, logp_max=None, sa_max=None)
HEAVY = Objective(heavy_atoms, desirability={'kind': 'larger', 'low': 0, 'high': 30}, name='heavy')


def ga(**settings):
    return load_generator('ga', seed_smiles=SEEDS, population_size=10, offspring_size=10, **settings)


# -- desirability, scalarisation, Pareto ---------------------------------------------------------------------------


def test_desirability_kinds():
    larger = Desirability('larger', 1.0, 3.0)
    assert [larger(v) for v in (0.0, 1.0, 2.0, 3.0, 9.0)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    smaller = Desirability.of({'kind': 'smaller', 'low': 0, 'high': 4})
    assert [smaller(v) for v in (-1.0, 0.0, 1.0, 4.0, 5.0)] == [1.0, 1.0, 0.75, 0.0, 0.0]
    window = Desirability('window', -1.0, 0.0, tolerance=0.5)
    assert [window(v) for v in (-2.0, -1.25, -0.5, 0.0, 0.25, 1.0)] == [0.0, 0.5, 1.0, 1.0, 0.5, 0.0]
    assert Desirability('window', 2.0, 4.0)(5.0) == 0.0  # default tolerance: half the width (1.0)
    assert Desirability('window', 2.0, 4.0)(4.5) == 0.5
    assert Desirability('window', None, 4.0, tolerance=0)(4.01) == 0.0
    with pytest.raises(GeneratorError, match='kind'):
        Desirability('bigger', 0, 1)
    with pytest.raises(GeneratorError, match=r'low 2\.0 above high 1\.0'):
        Desirability.of({'kind': 'larger', 'low': 2, 'high': 1})


def test_scalarisations():
    weights = [1.0, 3.0]
    assert Scalarisation('sum')([1.0, 0.5], weights) == pytest.approx((1.0 + 1.5) / 4)
    assert Scalarisation('geometric')([1.0, 0.5], weights) == pytest.approx(0.5**0.75)
    assert Scalarisation('geometric')([0.0, 1.0], weights) == 0.0
    assert Scalarisation('geometric')([1.7, 1.0], weights) == 1.0  # clipped to [0, 1]
    with pytest.raises(GeneratorError, match='scalarisation'):
        Scalarisation('product')


def test_pareto_ranks_of_known_fronts():
    points = [(1, 5), (2, 4), (3, 3), (4, 1), (1, 4), (2, 2), (1, 1), (0, 0), (3, 3)]
    assert pareto_ranks(points) == [0, 0, 0, 0, 1, 1, 2, 3, 0]
    crowding = crowding_distances(points)
    # Front 0 sorted by the first objective: (1,5) (2,4) (3,3) (3,3) (4,1); extremes infinite.
    assert crowding[0] == math.inf and crowding[3] == math.inf
    assert crowding[1] == pytest.approx((3 - 1) / 3 + (5 - 3) / 4)
    assert pareto_order(points)[:2] == [0, 3]
    assert pareto_ranks([]) == []
    # Three objectives, one point dominating all others.
    assert pareto_ranks([(1, 1, 1), (2, 2, 2), (2, 1, 3)]) == [1, 0, 0]


# -- constraints ---------------------------------------------------------------------------------------------------


def test_constraints_check_reasons():
    constraints = Constraints(elements=('C', 'O', 'H'), max_heavy_atoms=4, logp_max=0.0, sa_max=None)
    assert constraints.check('CCO') == []
    assert constraints.check('CCN') == ['element(s) N not allowed']
    assert constraints.check('CCCCCO') == ['6 heavy atoms above 4']
    assert constraints.check('CCCC') == ['logP 1.81 above 0.00']
    assert constraints.check('CCO.O') == ['more than one fragment']
    assert constraints.check('C1CC') == ['not a valid molecule']
    assert Constraints(min_charge=0, max_charge=0).check('CC(=O)[O-]') == ['net charge -1 below +0']


def test_contradictory_constraints_are_found_before_a_run():
    found = Constraints(
        elements=(), min_heavy_atoms=10, max_heavy_atoms=5, logp_min=2.0, logp_max=1.0, sa_max=0.5
    ).contradictions()
    assert 'the set of allowed elements is empty' in found
    assert 'heavy atoms: minimum 10 above maximum 5' in found
    assert 'logP: minimum 2.0 above maximum 1.0' in found
    assert any('SA score ceiling 0.5 below 1' in item for item in found)
    assert Constraints(elements=('H',)).contradictions() == [
        'no heavy element allowed (hydrogen alone makes no additive)'
    ]
    assert "unknown element symbol(s) 'Xx'" in Constraints(elements=('C', 'Xx')).contradictions()
    assert Constraints().contradictions() == []
    with pytest.raises(GeneratorError, match=r'contradictory constraints.*heavy atoms: minimum 10 above maximum 5'):
        ga().generate(HEAVY, Constraints(min_heavy_atoms=10, max_heavy_atoms=5), budget=10)


def test_constraints_no_seed_satisfies():
    """A contradiction the limits do not show (no seed has 25+ heavy atoms here) ends with the reason counted."""
    result = ga().generate(HEAVY, Constraints(min_heavy_atoms=25, logp_max=None, sa_max=None), budget=10)
    assert result.stopped_by == 'no-seeds'
    assert 'heavy atoms' in result.stop_reason and result.molecules == []


# -- budget, cache, failures ---------------------------------------------------------------------------------------


def test_budget_zero_and_negative():
    result = ga().generate(HEAVY, SMALL, budget=0)
    assert result.stopped_by == 'zero-budget'
    assert result.stop_reason == 'the budget is 0 scorer calls: nothing was generated or scored'
    assert result.molecules == [] and result.calls == 0
    with pytest.raises(GeneratorError, match='budget must be a whole number'):
        ga().generate(HEAVY, SMALL, budget=-1)
    with pytest.raises(GeneratorError, match='at least one objective'):
        ga().generate([], SMALL, budget=5)


def test_budget_respected_exactly_and_repeats_are_free():
    seen = []

    def counted(smiles: str) -> float:
        seen.append(smiles)
        return float(Chem.MolFromSmiles(smiles).GetNumHeavyAtoms())

    objective = Objective(counted, desirability={'kind': 'larger', 'low': 0, 'high': 30})
    for budget in (1, 7, 37):
        seen.clear()
        result = ga().generate(objective, SMALL, budget=budget, seed=3)
        assert result.calls == budget == len(result.molecules) == len(seen) == len(set(seen))
        assert result.stopped_by == 'budget'
        assert [molecule.call for molecule in result.molecules] == list(range(1, budget + 1))

    budget = ScorerBudget([objective], budget=3)
    seen.clear()
    first = budget.score(['CCO', 'OCC', 'C(C)O'])  # one molecule written three ways: one call
    assert budget.calls == 1 and first[0] is first[1] is first[2] and seen == ['CCO']
    second = budget.score(['CCO', 'CCN', 'CCC', 'CCCC'])  # CCO cached; CCN and CCC fit; CCCC is over budget
    assert budget.calls == 3 and budget.cache_hits == 3
    assert second[0] is first[0] and second[3] is None and budget.exhausted
    assert [record.smiles for record in budget.records] == ['CCO', 'CCN', 'CCC']


def test_failing_scorer_keeps_the_others():
    def picky(smiles: str) -> float:
        if 'N' in smiles:
            raise ValueError('no nitrogen, please')
        return float(Chem.MolFromSmiles(smiles).GetNumHeavyAtoms())

    objective = Objective(picky, desirability={'kind': 'larger', 'low': 0, 'high': 30}, name='picky')
    result = ga().generate([objective, HEAVY], SMALL, budget=40, seed=1)
    assert result.calls == 40 and result.stopped_by == 'budget'
    failed = result.failed
    assert failed and all('N' in molecule.smiles for molecule in failed)
    assert all('picky raised ValueError: no nitrogen, please' in molecule.error for molecule in failed)
    assert all(molecule.fitness is None and molecule.values['picky'] is None for molecule in failed)
    assert all(molecule.values['heavy'] is not None for molecule in failed)
    assert result.scored and all('N' not in molecule.smiles for molecule in result.scored)


def test_broken_scorer_stops_the_run():
    def broken(smiles: str) -> float:
        raise RuntimeError('model file missing')

    result = load_generator('random', seed_smiles=SEEDS * 3 + [f'C{"C" * n}O' for n in range(30)]).generate(
        Objective(broken), SMALL, budget=100
    )
    assert result.stopped_by == 'scorer' and generators_scoring.BROKEN_SCORER_CALLS <= result.calls < 100
    assert 'model file missing' in result.stop_reason


def test_exception_in_a_generator_keeps_partial_results():
    class Faulty(Generator):
        name = 'faulty'
        version = '0'

        def run(self, context):
            context.budget.score(['CCO', 'CCCO', 'CCCCO'])
            raise RuntimeError('bug in the search')

    result = Faulty().generate(HEAVY, SMALL, budget=10)
    assert result.stopped_by == 'error'
    assert 'RuntimeError: bug in the search' in result.stop_reason
    assert [molecule.smiles for molecule in result.molecules] == ['CCO', 'CCCO', 'CCCCO']


def test_objective_reading_screener_predictions():
    class Fake(Screener):
        name = 'fake'
        version = '1'

        def screen(self, smiles, rows=None):
            return [Screening(s, passed=len(s) < 4, score=0.5, predictions={'size': float(len(s))}) for s in smiles]

    fake = Fake()
    objectives = [
        Objective(fake, key='size', desirability={'kind': 'smaller', 'low': 3, 'high': 5}, must_pass=True),
        Objective(fake, key='score', name='fake_score'),
        Objective(fake, key='missing', name='missing'),
    ]
    budget = ScorerBudget(objectives[:2], budget=5)
    short, long_ = budget.score(['CCO', 'CCCCO'])
    assert short.desirabilities == {'fake.size': 1.0, 'fake_score': 0.5}
    assert long_.desirabilities['fake.size'] == 0.0  # fails the screener: must_pass
    assert short.passed == {'fake': True} and short.predictions == {'fake.size': 3.0}
    (record,) = ScorerBudget(objectives, budget=5).score(['CCO'])
    assert record.failed and 'missing: no value' in record.error


# -- the generators ------------------------------------------------------------------------------------------------


def test_registered_generators_and_bad_settings():
    assert {'ga', 'random'} <= set(generator_names())
    with pytest.raises(GeneratorError, match=r'No generator `vae`.*registered: ga, random'):
        load_generator('vae')
    with pytest.raises(GeneratorError, match=r'unknown `ga` setting.*population'):
        load_generator('ga', population=3)
    with pytest.raises(GeneratorError, match='mutation_rate'):
        load_generator('ga', mutation_rate=2)


@pytest.mark.parametrize('name', ['ga', 'random'])
def test_same_seed_same_molecules(name):
    def run(seed):
        generator = load_generator(name, seed_smiles=SEEDS)
        return [molecule.smiles for molecule in generator.generate(HEAVY, SMALL, budget=25, seed=seed).molecules]

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_ga_improves_its_objective_and_obeys_constraints():
    constraints = Constraints(elements=('H', 'C', 'N', 'O'), max_heavy_atoms=20, logp_max=1.0, sa_max=4.0)
    result = ga().generate(HEAVY, constraints, budget=150, seed=0)
    assert result.calls == 150
    initial = [molecule.fitness for molecule in result.scored if molecule.generation == 0]
    final = [molecule.fitness for molecule in result.best(10)]
    assert len(initial) == 10  # min(population_size, a third of the budget)
    assert sum(final) / len(final) >= max(initial) + 0.15  # mean of the 10 best beats the best seed by 3+ atoms
    for molecule in result.molecules:
        assert constraints.check(molecule.smiles) == [], molecule.smiles
    children = [molecule for molecule in result.molecules if molecule.generation > 0]
    assert children and all(len(molecule.parents) == 2 for molecule in children)
    assert {molecule.origin for molecule in children} <= {'crossover', 'crossover+mutation'}


def test_ga_pareto_selection():
    constraints = Constraints(elements=('H', 'C', 'N', 'O'), max_heavy_atoms=20, logp_max=None, sa_max=None)
    few_atoms = Objective(heavy_atoms, desirability={'kind': 'smaller', 'low': 0, 'high': 20}, name='few')
    qed = parse_objective('qed')
    result = ga().generate([few_atoms, qed], constraints, budget=60, seed=2, selection='pareto')
    best = result.best()
    assert best[0].pareto_rank == 0
    ranks = [molecule.pareto_rank for molecule in best]
    assert ranks == sorted(ranks)
    front = [molecule.point(['few', 'qed']) for molecule in result.scored if molecule.pareto_rank == 0]
    assert all(not (p[0] >= q[0] and p[1] >= q[1] and p != q) for p in front for q in front)


def test_random_baseline_from_moses():
    """The default library: a seeded sample of the MOSES split read from the installed molsets files."""
    generator = load_generator('random', library='moses:test', sample_factor=2)
    first = generator.generate(zib_objectives(), Constraints(), budget=12, seed=0)
    again = generator.generate(zib_objectives(), Constraints(), budget=12, seed=0)
    assert first.calls == 12 and first.stopped_by == 'budget'
    assert [m.smiles for m in first.molecules] == [m.smiles for m in again.molecules]
    assert all(Constraints().check(m.smiles) == [] for m in first.molecules)
    assert all(m.origin == 'library' and 0.0 <= m.values['zib'] <= 1.0 for m in first.molecules)


# -- objectives in text and YAML form ------------------------------------------------------------------------------


def test_parse_objective_and_file(tmp_path):
    objective = parse_objective('rules:logp,kind=smaller,low=0,high=3,weight=0.5')
    assert objective.scorer == 'rules' and objective.key == 'logp' and objective.weight == 0.5
    assert objective.name == 'rules.logp'
    assert objective.desirability == Desirability('smaller', 0.0, 3.0)
    gnn = parse_objective('gnn:gap_ev,kind=larger,low=4.5,high=7', checkpoint='model')
    assert gnn.settings == {'checkpoint': 'model'}
    assert parse_objective('rules,set.logp_max=2.5,name=soluble').settings == {'logp_max': 2.5}
    with pytest.raises(GeneratorError, match="unknown option 'colour'"):
        parse_objective('rules,colour=red')
    with pytest.raises(GeneratorError, match='need kind'):
        parse_objective('rules,low=1')
    with pytest.raises(GeneratorError, match='No screener `nope`'):
        ga().generate(parse_objective('nope'), SMALL, budget=3)
    path = tmp_path / 'objectives.yaml'
    path.write_text(
        '- {scorer: rules}\n- {scorer: qed, weight: 2}\n'
        '- {scorer: rules, key: tpsa_a2, desirability: {kind: window, low: 20, high: 90}}\n'
    )
    loaded = load_objectives_file(path)
    assert [o.name for o in loaded] == ['rules', 'qed', 'rules.tpsa_a2']
    path.write_text('- {scorer: rules, colour: red}\n')
    with pytest.raises(GeneratorError, match='unknown field'):
        load_objectives_file(path)


def test_zib_objective_with_the_shipped_model():
    """The default ZIB objective is the ``mechanisms`` screener's score on the shipped GFN2-level ensemble, which
    predicts the calibrated Zn2+ exchange free energy of each molecule's species at pH 4.5. Its labels come back for
    molecules it was trained on (labels: data/labels/xtb_gfn2_v2_shards); working additives of different mechanisms
    pass and outrank molecules that cannot work; the generator's old favourite, an amino alcohol that is an ammonium
    ion at pH 4.5, no longer reaches the top."""
    objectives = zib_objectives()
    assert [o.name for o in objectives] == ['zib'] and objectives[0].must_pass
    assert zib_objectives(None)[0].scorer.model is None  # descriptors only
    smiles = ['CC(=O)N(C)C', 'C1CCOC1', 'CS(C)=O', 'OCCO', 'NCC(=O)O', 'CCCCCCCC', 'NC1CC(O)C1']
    smiles += ['[Na+].CCCCCCCCCCCCOS(=O)(=O)[O-]', 'O=C1NS(=O)(=O)c2ccccc21']
    records = dict(zip(smiles, ScorerBudget(objectives, budget=len(smiles)).score(smiles), strict=True))
    labels = {  # calibrated exchange free energy of the species at pH 4.5, eV
        'CC(=O)N(C)C': 0.032,  # N,N-dimethylacetamide
        'C1CCOC1': 0.126,  # THF
        'CS(C)=O': -0.010,  # DMSO
        'OCCO': 0.036,  # ethylene glycol
        'NCC(=O)O': -0.053,  # glycine, as its zwitterion
    }
    for name, exchange in labels.items():
        predicted = records[name].predictions['mechanisms.zn_exchange_free_energy_calibrated_ev']
        assert predicted == pytest.approx(exchange, abs=0.08), name
    fitness = {name: record.fitness for name, record in records.items()}
    working = ('CS(C)=O', 'OCCO', 'NCC(=O)O', '[Na+].CCCCCCCCCCCCOS(=O)(=O)[O-]', 'O=C1NS(=O)(=O)c2ccccc21')
    assert all(fitness[name] > 0.75 for name in working), fitness
    assert fitness['CCCCCCCC'] < 0.1  # no donor, no H-bond, insoluble: no mechanism
    assert fitness['NC1CC(O)C1'] < min(fitness[name] for name in working)
    # Water itself: the gnn screener's prediction sits at the zero of the scale (issue target: within 0.05 eV).
    (water,) = objectives[0].scorer.model.screen(['O'])
    assert abs(water.predictions['zn_exchange_free_energy_calibrated_ev']) < 0.05


# -- the command line ----------------------------------------------------------------------------------------------


def gen(*args):
    return CliRunner().invoke(cmd_root, ['gen', *map(str, args)], catch_exceptions=False)


def test_cli_choices_match_the_library():
    assert set(CLI_SELECTIONS) == set(generators_base.SELECTIONS)
    assert set(CLI_SCALARISATIONS) == set(generators_pareto.SCALARISATIONS)


def test_cli_run_writes_results_and_provenance(tmp_path):
    library = tmp_path / 'seeds.smi'
    library.write_text('smiles\n' + '\n'.join(SEEDS) + '\n')
    out = tmp_path / 'ga.csv'
    args = ['run', '--library', library, '--setting', 'population_size=6', '--setting', 'offspring_size=6']
    result = gen(*args, '--budget', 20, '--seed', 1, '--elements', 'H,C,N,O', '--out', out)
    assert result.exit_code == 0, result.output
    assert 'ga ' in result.output and '20 scorer calls' in result.output
    assert 'stopped: budget of 20 scorer calls spent' in result.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 20 and {'smiles', 'fitness', 'zib', 'zib:desirability', 'pareto_rank'} <= set(rows[0])
    provenance = json.loads(out.with_suffix('.json').read_text())
    assert provenance['generator'] == 'ga' and provenance['seed'] == 1 and provenance['calls'] == 20
    assert provenance['constraints']['elements'] == ['H', 'C', 'N', 'O']
    assert provenance['objectives'][0]['scorer'] == 'mechanisms'
    listed = gen('list')
    assert listed.exit_code == 0 and {'ga', 'random'} <= {line.split()[0] for line in listed.output.splitlines()}


def test_cli_run_bad_input(tmp_path):
    out = tmp_path / 'none.csv'
    result = gen('run', '--budget', 0, '--out', out)
    assert result.exit_code == 1
    assert 'no molecule scored: the budget is 0 scorer calls' in result.output
    result = gen('run', '--min-heavy-atoms', 10, '--max-heavy-atoms', 5, '--out', out)
    assert result.exit_code == 1 and 'contradictory constraints' in result.output
    result = gen('run', '--objective', 'rules,weight=-1', '--out', out)
    assert result.exit_code == 1 and 'weight must be a positive number' in result.output
    result = gen('run', '--logp-max', 'lots', '--out', out)
    assert result.exit_code == 2 and 'neither a number nor `none`' in result.output
    assert not out.exists()


def test_progress_line_gives_calls_rate_best_and_time_left():
    """`gen run` and the campaign's generation step print this line every 10 s; a clock stands in for time here."""
    from aiida_znadditive.ml.generators.progress import GenerationProgress
    from aiida_znadditive.ml.generators.scoring import ScoredMolecule

    lines: list[str] = []
    times = iter([0.0, 5.0, 10.0, 20.0])
    progress = GenerationProgress('ga', 100, lines.append, interval=10.0, clock=lambda: next(times))
    for smiles, fitness in (('CO', 0.5), ('OCCO', 0.8), ('C', None)):
        progress(ScoredMolecule(smiles=smiles, call=0, values={}, desirabilities={}, fitness=fitness))
    assert lines == [
        'ga: 2/100 scorer calls (2%), 0.2 calls/s, best fitness 0.800 (OCCO), ETA 8 min 10 s',
        'ga: 3/100 scorer calls (3%), 0.1 calls/s, 1 failed, best fitness 0.800 (OCCO), ETA 10 min 47 s',
    ]
