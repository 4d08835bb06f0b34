"""The ``ga`` generator: a graph-based genetic algorithm on RDKit molecules.

Method: J. H. Jensen, "A graph-based genetic algorithm and generative model/Monte Carlo tree search for the
exploration of chemical space", *Chem. Sci.* 10, 3567-3572 (2019), the ``graph_ga`` baseline of GuacaMol (Brown et
al., *J. Chem. Inf. Model.* 59, 1096 (2019)), which stays one of the most sample-efficient optimisers in
benchmarks (Gao et al., "Sample efficiency matters", NeurIPS 2022). Written here from the papers' description; no
code of either is used. Operators act on kekulised molecular graphs:

- **crossover**: with probability ½ a *ring cut* (two bonds of a ring path ``[R]@[R]@[R]@[R]`` are cut, so each
  parent falls into two pieces with two open ends, labelled 1 and 2) else a *chain cut* (one acyclic single bond,
  one open end); a piece of each parent is joined at the open ends of equal label. Up to 10 tries;
- **mutation** (with probability ``mutation_rate`` per child), one of: append an atom, insert an atom into a bond,
  delete an atom (bridging its two neighbours), change an element, change a bond order, close a ring (4-6
  members), open a ring (delete a ring bond), append a ring (benzene, pyridine, furan, cyclopropane, THF,
  piperidine: those whose elements are allowed). Elements are drawn from the allowed ones, weighted toward C, N, O.

Every child is sanitised, written as canonical SMILES and read back (so it is exactly what ``MolFromSmiles`` gives),
and checked against the constraints: a child that breaks one, or that was scored before, is dropped without a
scorer call. The population starts from a seeded sample of a library (default: the MOSES training split) or the
``seed_smiles`` given, of which at most a third of the budget is scored. Each generation, parents are drawn by
roulette wheel on the fitness (``selection='scalar'``) or by binary tournament on Pareto rank and crowding distance
(``'pareto'``); the next population is the best ``population_size`` of parents and children (by fitness, or by
rank and crowding as in NSGA-II). Deterministic for a seed: every random choice comes from one seeded
``random.Random``, RDKit's operations are deterministic, and nothing iterates over an unordered set.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from itertools import islice
from typing import ClassVar

from rdkit import Chem
from rdkit.rdBase import BlockLogs

from ... import __version__
from .base import Generator, RunContext, StopRun
from .errors import GeneratorError
from .library import sample_library
from .pareto import crowding_distances, pareto_ranks
from .scoring import ScoredMolecule

GA_VERSION = '1'

#: Relative weights of the elements a mutation draws (only allowed ones are drawn; unknown allowed ones get 0.5).
ELEMENT_WEIGHTS = {
    'C': 8.0,
    'N': 2.5,
    'O': 2.5,
    'F': 0.8,
    'S': 0.8,
    'Cl': 0.5,
    'P': 0.4,
    'Br': 0.2,
    'B': 0.2,
    'Si': 0.2,
    'I': 0.1,
}
RINGS = ('c1ccccc1', 'c1ccncc1', 'c1ccoc1', 'C1CC1', 'C1CCOC1', 'C1CCNCC1')

_RING_PATH = Chem.MolFromSmarts('[R]@[R]@[R]@[R]')
_CHAIN_BOND = Chem.MolFromSmarts('[*]-;!@[*]')
_DUMMY = Chem.MolFromSmarts('[#0]')
_BOND_TYPES = {1: Chem.BondType.SINGLE, 2: Chem.BondType.DOUBLE, 3: Chem.BondType.TRIPLE}
_BOND_ORDERS = {value: key for key, value in _BOND_TYPES.items()}


# -- graph operators -------------------------------------------------------------------------------------------------


def finish(mol: Chem.Mol) -> Chem.Mol | None:
    """Sanitise an edited graph and read it back from its canonical SMILES (None where RDKit rejects it)."""
    with BlockLogs():
        try:
            mol = mol.GetMol() if isinstance(mol, Chem.RWMol) else mol
            Chem.SanitizeMol(mol)
            smiles = Chem.MolToSmiles(mol)
            if not smiles or '.' in smiles:
                return None
            child = Chem.MolFromSmiles(smiles)
        except Exception:  # any RDKit failure: an impossible graph
            return None
    return child if child is not None and child.GetNumAtoms() else None


def kekulised(mol: Chem.Mol) -> Chem.RWMol | None:
    mol = Chem.RWMol(mol)
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except Exception:
        return None
    Chem.RemoveStereochemistry(mol)  # the GA works on 2D graphs: stereo would not survive its edits
    return mol


def _release(atom: Chem.Atom) -> None:
    """Let RDKit recompute the hydrogens of an atom whose bonds changed."""
    atom.SetNumExplicitHs(0)
    atom.SetNoImplicit(False)


def _cut(mol: Chem.Mol, rng: random.Random, ring: bool) -> list[Chem.Mol] | None:
    """The pieces of ``mol`` after a ring cut (2 bonds) or a chain cut (1 bond), open ends labelled by isotope."""
    pattern = _RING_PATH if ring else _CHAIN_BOND
    matches = sorted(mol.GetSubstructMatches(pattern, uniquify=True, maxMatches=1000))
    if not matches:
        return None
    match = rng.choice(matches)
    pairs = [(match[0], match[1]), (match[2], match[3])] if ring else [(match[0], match[1])]
    bonds = [mol.GetBondBetweenAtoms(a, b).GetIdx() for a, b in pairs]
    labels = [(number, number) for number in range(1, len(bonds) + 1)]
    with BlockLogs():
        pieces = Chem.FragmentOnBonds(mol, bonds, addDummies=True, dummyLabels=labels)
        fragments = Chem.GetMolFrags(pieces, asMols=True, sanitizeFrags=False)
    if len(fragments) != 2:  # a cut inside a fused ring system that leaves it whole
        return None
    wanted = sorted(range(1, len(bonds) + 1))
    for fragment in fragments:
        labels = sorted(
            fragment.GetAtomWithIdx(index).GetIsotope() for (index,) in fragment.GetSubstructMatches(_DUMMY)
        )
        if labels != wanted:
            return None
    return list(fragments)


def _join(first: Chem.Mol, second: Chem.Mol) -> Chem.Mol | None:
    """Join two pieces at their open ends of equal label (bond order of ``first``'s end) and finish the child."""
    combined = Chem.RWMol(Chem.CombineMols(first, second))
    boundary = first.GetNumAtoms()
    ends: dict[int, dict[str, tuple[int, int, Chem.BondType]]] = {}
    for (index,) in combined.GetSubstructMatches(_DUMMY, uniquify=False):
        atom = combined.GetAtomWithIdx(index)
        (neighbour,) = atom.GetNeighbors()
        bond = combined.GetBondBetweenAtoms(atom.GetIdx(), neighbour.GetIdx())
        side = 'first' if atom.GetIdx() < boundary else 'second'
        ends.setdefault(atom.GetIsotope(), {})[side] = (atom.GetIdx(), neighbour.GetIdx(), bond.GetBondType())
    dummies = []
    for label in sorted(ends):
        pair = ends[label]
        if set(pair) != {'first', 'second'}:
            return None
        dummy_a, atom_a, bond_type = pair['first']
        dummy_b, atom_b, _ = pair['second']
        if combined.GetBondBetweenAtoms(atom_a, atom_b) is not None:
            return None
        combined.AddBond(atom_a, atom_b, bond_type)
        _release(combined.GetAtomWithIdx(atom_a))
        _release(combined.GetAtomWithIdx(atom_b))
        dummies += [dummy_a, dummy_b]
    for index in sorted(dummies, reverse=True):
        combined.RemoveAtom(index)
    return finish(combined)


def crossover(parent_a: Chem.Mol, parent_b: Chem.Mol, rng: random.Random, tries: int = 10) -> Chem.Mol | None:
    """A child of two parents (ring or chain cut, see the module docstring), or None after ``tries`` failures."""
    a, b = kekulised(parent_a), kekulised(parent_b)
    if a is None or b is None:
        return None
    for _ in range(tries):
        ring = rng.random() < 0.5
        pieces_a, pieces_b = _cut(a, rng, ring), _cut(b, rng, ring)
        if pieces_a is None or pieces_b is None:
            pieces_a, pieces_b = _cut(a, rng, not ring), _cut(b, rng, not ring)
            if pieces_a is None or pieces_b is None:
                continue
        child = _join(rng.choice(pieces_a), rng.choice(pieces_b))
        if child is not None:
            return child
    return None


def _element(rng: random.Random, elements: Sequence[str], min_valence: int = 1) -> str | None:
    table = Chem.GetPeriodicTable()
    choices = [
        symbol for symbol in elements if symbol != 'H' and max(table.GetValenceList(symbol), default=0) >= min_valence
    ]
    if not choices:
        return None
    return rng.choices(choices, weights=[ELEMENT_WEIGHTS.get(symbol, 0.5) for symbol in choices])[0]


def _max_valence(symbol: str) -> int:
    valences = [value for value in Chem.GetPeriodicTable().GetValenceList(symbol) if value > 0]
    return max(valences, default=0)


def _default_valence(symbol: str) -> int:
    return Chem.GetPeriodicTable().GetDefaultValence(symbol)


def _free_hs(atom: Chem.Atom) -> int:
    return atom.GetTotalNumHs()


def append_atom(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    sites = [atom.GetIdx() for atom in mol.GetAtoms() if _free_hs(atom) > 0]
    symbol = _element(rng, elements)
    if not sites or symbol is None:
        return None
    site = rng.choice(sites)
    order = rng.choice([1, 1, 1, 2, 3])
    order = min(order, _free_hs(mol.GetAtomWithIdx(site)), _default_valence(symbol))
    new = mol.AddAtom(Chem.Atom(symbol))
    mol.AddBond(site, new, _BOND_TYPES[max(1, order)])
    _release(mol.GetAtomWithIdx(site))
    return finish(mol)


def insert_atom(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    bonds = [bond.GetIdx() for bond in mol.GetBonds() if bond.GetBondType() == Chem.BondType.SINGLE]
    symbol = _element(rng, elements, min_valence=2)
    if not bonds or symbol is None:
        return None
    bond = mol.GetBondWithIdx(rng.choice(bonds))
    begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
    mol.RemoveBond(begin, end)
    new = mol.AddAtom(Chem.Atom(symbol))
    mol.AddBond(begin, new, Chem.BondType.SINGLE)
    mol.AddBond(new, end, Chem.BondType.SINGLE)
    return finish(mol)


def delete_atom(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    if mol.GetNumAtoms() < 2:
        return None
    sites = [atom.GetIdx() for atom in mol.GetAtoms() if atom.GetDegree() in (1, 2)]
    if not sites:
        return None
    atom = mol.GetAtomWithIdx(rng.choice(sites))
    neighbours = [neighbour.GetIdx() for neighbour in atom.GetNeighbors()]
    if len(neighbours) == 2:
        if mol.GetBondBetweenAtoms(*neighbours) is not None:
            return None
        mol.AddBond(neighbours[0], neighbours[1], Chem.BondType.SINGLE)
    for neighbour in neighbours:
        _release(mol.GetAtomWithIdx(neighbour))
    mol.RemoveAtom(atom.GetIdx())
    return finish(mol)


def change_atom(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    atom = mol.GetAtomWithIdx(rng.randrange(mol.GetNumAtoms()))
    used = round(sum(bond.GetBondTypeAsDouble() for bond in atom.GetBonds()))
    choices = [
        symbol for symbol in elements if symbol not in {'H', atom.GetSymbol()} and _max_valence(symbol) >= max(used, 1)
    ]
    if not choices:
        return None
    symbol = rng.choices(choices, weights=[ELEMENT_WEIGHTS.get(symbol, 0.5) for symbol in choices])[0]
    atom.SetAtomicNum(Chem.GetPeriodicTable().GetAtomicNumber(symbol))
    atom.SetFormalCharge(0)
    atom.SetIsotope(0)
    _release(atom)
    return finish(mol)


def change_bond_order(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    bonds = list(mol.GetBonds())
    if not bonds:
        return None
    bond = rng.choice(bonds)
    current = _BOND_ORDERS.get(bond.GetBondType())
    if current is None:
        return None
    begin, end = bond.GetBeginAtom(), bond.GetEndAtom()
    room = min(_free_hs(begin), _free_hs(end))
    highest = 2 if bond.IsInRing() else 3
    options = [order for order in (1, 2, 3) if order != current and order <= min(highest, current + room)]
    if not options:
        return None
    bond.SetBondType(_BOND_TYPES[rng.choice(options)])
    _release(begin)
    _release(end)
    return finish(mol)


def close_ring(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    distances = Chem.GetDistanceMatrix(mol)
    candidates = [atom.GetIdx() for atom in mol.GetAtoms() if _free_hs(atom) > 0]
    pairs = [(a, b) for i, a in enumerate(candidates) for b in candidates[i + 1 :] if 3 <= distances[a][b] <= 5]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    mol.AddBond(a, b, Chem.BondType.SINGLE)
    _release(mol.GetAtomWithIdx(a))
    _release(mol.GetAtomWithIdx(b))
    return finish(mol)


def open_ring(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    bonds = [bond for bond in mol.GetBonds() if bond.IsInRing()]
    if not bonds:
        return None
    bond = rng.choice(bonds)
    begin, end = bond.GetBeginAtomIdx(), bond.GetEndAtomIdx()
    mol.RemoveBond(begin, end)
    _release(mol.GetAtomWithIdx(begin))
    _release(mol.GetAtomWithIdx(end))
    return finish(mol)


def append_ring(mol: Chem.RWMol, rng: random.Random, elements: Sequence[str]) -> Chem.Mol | None:
    allowed = set(elements)
    rings = [smiles for smiles in RINGS if {a.GetSymbol() for a in Chem.MolFromSmiles(smiles).GetAtoms()} <= allowed]
    sites = [atom.GetIdx() for atom in mol.GetAtoms() if _free_hs(atom) > 0]
    if not rings or not sites:
        return None
    ring = kekulised(Chem.MolFromSmiles(rng.choice(rings)))
    ring_sites = [atom.GetIdx() for atom in ring.GetAtoms() if atom.GetSymbol() == 'C']
    site = rng.choice(sites)
    offset = mol.GetNumAtoms()
    combined = Chem.RWMol(Chem.CombineMols(mol, ring))
    combined.AddBond(site, offset + rng.choice(ring_sites), Chem.BondType.SINGLE)
    _release(combined.GetAtomWithIdx(site))
    return finish(combined)


MUTATIONS = (
    append_atom,
    insert_atom,
    delete_atom,
    change_atom,
    change_bond_order,
    close_ring,
    open_ring,
    append_ring,
)


def mutate(mol: Chem.Mol, rng: random.Random, elements: Sequence[str], tries: int = 10) -> Chem.Mol | None:
    """``mol`` after one random mutation of :data:`MUTATIONS` (None after ``tries`` failures)."""
    for _ in range(tries):
        graph = kekulised(mol)
        if graph is None:
            return None
        operation = rng.choice(MUTATIONS)
        child = operation(graph, rng, elements)
        if child is not None:
            return child
    return None


# -- the generator ---------------------------------------------------------------------------------------------------


class GraphGAGenerator(Generator):
    """Graph genetic algorithm (Jensen 2019); see the module docstring. Settings: :attr:`DEFAULTS`."""

    name = 'ga'
    version = f'{__version__}+ga.{GA_VERSION}'
    DEFAULTS: ClassVar[dict] = {
        # Molecules kept from one generation to the next, and children scored per generation.
        'population_size': 50,
        'offspring_size': 50,
        # Probability that a child of a crossover is also mutated (GuacaMol's graph_ga uses 0.01 with much larger
        # budgets; more mutation explores faster under small budgets).
        'mutation_rate': 0.2,
        'max_generations': 1000,
        # Where the initial population comes from: a library (see library.py) or a list of SMILES.
        'library': 'moses',
        'seed_smiles': None,
        # Molecules drawn from the library before the constraints filter them.
        'library_sample': 2000,
        # Share of the budget the initial population may take (at least 2 molecules).
        'initial_fraction': 1 / 3,
        # Tries per wanted child before a generation gives up; generations in a row without a new child to stop.
        'tries_per_child': 20,
        'stall_generations': 3,
    }

    def __init__(self, **settings) -> None:
        super().__init__(**settings)
        for key in ('population_size', 'offspring_size', 'max_generations', 'library_sample', 'tries_per_child'):
            if int(self.settings[key]) < 1:
                raise GeneratorError(f'`ga` setting {key} must be at least 1')
        if int(self.settings['population_size']) < 2:
            raise GeneratorError('`ga` setting population_size must be at least 2 (crossover needs two parents)')
        if not 0 <= float(self.settings['mutation_rate']) <= 1:
            raise GeneratorError('`ga` setting mutation_rate must be within [0, 1]')
        if not 0 < float(self.settings['initial_fraction']) <= 1:
            raise GeneratorError('`ga` setting initial_fraction must be within (0, 1]')

    def run(self, context: RunContext) -> tuple[str, str]:
        settings = self.settings
        budget = context.budget
        elements = [symbol for symbol in context.constraints.elements if symbol != 'H']

        stream, where = self._seed_stream(context)
        size = int(settings['population_size'])
        initial = max(2, min(size, int(budget.budget * float(settings['initial_fraction']))))
        population: list[ScoredMolecule] = []
        admitted = 0
        while len(population) < 2 and not budget.should_stop:
            chunk = list(islice(stream, initial))
            if not chunk:
                break
            admitted += len(chunk)
            scored = budget.score(chunk, origin='seed', generation=0)
            population += [record for record in scored if record is not None and not record.failed]
        if len(population) < 2:
            if budget.should_stop:
                return 'budget', 'budget spent on the initial population'
            if admitted < 2:
                raise StopRun(
                    'no-seeds',
                    f'{admitted} of the {where} satisfy the constraints, the GA needs 2 '
                    f'(discarded: {context.discard_summary()}); loosen the constraints or give other seed molecules',
                )
            raise StopRun('no-seeds', f'fewer than 2 initial molecules could be scored ({len(population)})')
        population = self._survivors(population, size, context)
        mols = {record.smiles: Chem.MolFromSmiles(record.smiles) for record in population}

        stalled = 0
        for generation in range(1, int(settings['max_generations']) + 1):
            if budget.should_stop:
                return 'budget', 'budget spent'
            wanted = min(int(settings['offspring_size']), budget.remaining)
            children, parents, origins = self._offspring(population, mols, wanted, elements, context)
            if not children:
                stalled += 1
                if stalled >= int(settings['stall_generations']):
                    raise StopRun(
                        'stalled',
                        f'no new molecule satisfying the constraints in {stalled} generations '
                        f'({context.discard_summary()} discarded by constraints); constraints too tight?',
                    )
                continue
            stalled = 0
            scored = []
            for origin in dict.fromkeys(origins):
                members = [index for index, item in enumerate(origins) if item == origin]
                scored += budget.score(
                    [children[index] for index in members],
                    origin=origin,
                    generation=generation,
                    parents=[parents[index] for index in members],
                )
            fresh = [record for record in scored if record is not None and not record.failed]
            for record in fresh:
                mols.setdefault(record.smiles, Chem.MolFromSmiles(record.smiles))
            population = self._survivors(population + fresh, size, context)
            keep = {record.smiles for record in population}
            mols = {smiles: mol for smiles, mol in mols.items() if smiles in keep}
        return 'generations', f'{settings["max_generations"]} generations done'

    # -- steps ---------------------------------------------------------------------------------------------------

    def _seed_stream(self, context: RunContext) -> tuple[Iterator[str], str]:
        """Canonical SMILES of the seed set that satisfy the constraints, in a seeded random order (checked lazily:
        only as many as the initial population takes), and what the seed set is."""
        settings = self.settings
        rng = context.rng
        if settings['seed_smiles'] is not None:
            raw = list(settings['seed_smiles'])
            rng.shuffle(raw)
            where = f'{len(raw)} seed SMILES given'
        else:
            raw = sample_library(settings['library'], int(settings['library_sample']), rng)
            where = f'{len(raw)} molecules sampled from {settings["library"]}'

        def stream() -> Iterator[str]:
            seen: set[str] = set()
            for smiles in raw:
                with BlockLogs():
                    mol = Chem.MolFromSmiles(smiles) if smiles else None
                if mol is None:
                    context.discarded['invalid'] += 1
                    continue
                key = Chem.MolToSmiles(mol)
                if key in seen:
                    continue
                seen.add(key)
                if context.admissible(Chem.MolFromSmiles(key)):
                    yield key

        return stream(), where

    def _fitness_keys(self, population: list[ScoredMolecule], context: RunContext) -> list[tuple]:
        """Sort keys, smaller is better: (-fitness,) or (rank, -crowding)."""
        if context.selection == 'pareto':
            points = [record.point(context.objective_names) for record in population]
            ranks = pareto_ranks(points)
            crowding = crowding_distances(points, ranks)
            return [(rank, -distance) for rank, distance in zip(ranks, crowding, strict=True)]
        return [(-record.fitness,) for record in population]

    def _survivors(self, candidates: list[ScoredMolecule], size: int, context: RunContext) -> list[ScoredMolecule]:
        unique = list({record.smiles: record for record in candidates}.values())
        keys = self._fitness_keys(unique, context)
        order = sorted(range(len(unique)), key=lambda index: (keys[index], unique[index].call))
        return [unique[index] for index in order[:size]]

    def _parent_picker(self, population: list[ScoredMolecule], context: RunContext):
        rng: random.Random = context.rng
        if context.selection == 'pareto':
            keys = self._fitness_keys(population, context)

            def tournament() -> ScoredMolecule:
                a, b = rng.randrange(len(population)), rng.randrange(len(population))
                return population[a] if (keys[a], a) <= (keys[b], b) else population[b]

            return tournament
        weights = [max(0.0, record.fitness) for record in population]
        if sum(weights) <= 0:
            weights = [1.0] * len(population)
        return lambda: rng.choices(population, weights=weights)[0]

    def _offspring(
        self,
        population: list[ScoredMolecule],
        mols: dict[str, Chem.Mol],
        wanted: int,
        elements: list[str],
        context: RunContext,
    ) -> tuple[list[str], list[tuple[str, str]], list[str]]:
        """Up to ``wanted`` new, admissible children (canonical SMILES), their parents and origins."""
        rng: random.Random = context.rng
        pick = self._parent_picker(population, context)
        children: dict[str, tuple[tuple[str, str], str]] = {}
        rejected: set[str] = set()
        for _ in range(wanted * int(self.settings['tries_per_child'])):
            if len(children) >= wanted:
                break
            first = pick()
            second = pick()
            if second.smiles == first.smiles and len(population) > 1:
                second = pick()
            child = crossover(mols[first.smiles], mols[second.smiles], rng)
            origin = 'crossover'
            if child is not None and rng.random() < float(self.settings['mutation_rate']):
                child = mutate(child, rng, elements)
                origin = 'crossover+mutation'
            if child is None:
                continue
            smiles = Chem.MolToSmiles(child)
            if smiles in children or smiles in rejected or context.budget.seen(smiles):
                continue
            if not context.admissible(child):
                rejected.add(smiles)
                continue
            children[smiles] = ((first.smiles, second.smiles), origin)
        return list(children), [value[0] for value in children.values()], [value[1] for value in children.values()]
