"""One table of exit codes for every WorkChain of the package: each number has one meaning wherever it appears.

Ranges (aiida-quantumespresso's convention): 2xx bad input, grouped by kind (20x calculator and task, 21x the
molecule, 22x its species at the pH, 23x the system built around it, 24x settings, 25x the scheduler's limits); 3xx a
sub-process failed (300-302 and aiida-core's ``BaseRestartWorkChain`` meanings kept); 4xx the analysis of results
(401 and 402 are aiida-core's ``BaseRestartWorkChain`` codes). A WorkChain declares the codes it can return with
:func:`declare`; a test walks every WorkChain's spec and checks that a number never carries two labels. CalcJobs
(``XtbCalculation``) keep their own table, as in aiida-core: a CalcJob's exit code describes its parser's findings,
not a workflow's.
"""

from __future__ import annotations

#: label -> (status, message). Every message names what failed, so `verdi process show` and `verdi plugin list`
#: say something with or without the formatted details.
EXIT_CODES: dict[str, tuple[int, str]] = {
    # -- 20x: the calculator and the task ---------------------------------------------------------------------------
    'ERROR_INCOMPATIBLE_CODE': (200, 'The code runs another engine than the calculator: {message}'),
    'ERROR_UNKNOWN_CALCULATOR': (201, 'Unknown calculator: {message}'),
    'ERROR_UNSUPPORTED_TASK': (202, 'The calculator cannot run this task: {message}'),
    'ERROR_UNSUPPORTED_ELEMENTS': (203, 'The calculator has no parameters for some element: {message}'),
    'ERROR_INVALID_SPIN': (204, 'Invalid spin multiplicity: {message}'),
    'ERROR_INVALID_CHARGE': (205, 'Invalid charge: {message}'),
    'ERROR_UNSUPPORTED_SOLVENT': (206, 'The calculator has no such solvent model: {message}'),
    'ERROR_UNKNOWN_PROTOCOL': (207, 'Unknown protocol: {message}'),
    'ERROR_UNSUPPORTED_RESTART': (208, 'The calculator cannot restart from this folder: {message}'),
    'ERROR_CALCULATOR_CANNOT': (209, 'The calculator cannot do what this WorkChain needs: {message}'),
    # -- 21x: the molecule -------------------------------------------------------------------------------------------
    'ERROR_INVALID_SMILES': (210, 'The SMILES cannot be read: {message}'),
    'ERROR_RADICAL': (211, 'The molecule is a radical: {message}'),
    'ERROR_IMPOSSIBLE_CHARGE': (212, 'The charge and the electrons do not match: {message}'),
    'ERROR_NO_DONOR': (213, 'The molecule has no atom that can bind Zn2+: {message}'),
    'ERROR_TOO_LARGE': (214, 'The molecule is too large: {message}'),
    'ERROR_EMBEDDING_FAILED': (215, 'No 3D structure could be embedded: {message}'),
    'ERROR_NO_BINDING_MODE': (216, 'No binding mode could be placed: {message}'),
    'ERROR_INVALID_MOLECULE': (217, 'The molecule cannot be used: {message}'),
    # -- 22x: its species at the electrolyte's pH --------------------------------------------------------------------
    'ERROR_SPECIATION_FAILED': (220, 'The species at the pH is unknown: {message}'),
    'ERROR_NO_SPECIES': (221, 'No species of the molecule binds at this pH: {message}'),
    'ERROR_SPECIES_CHARGE': (222, "The species' charge is outside what the WorkChain treats: {message}"),
    # -- 23x: the system built around it -----------------------------------------------------------------------------
    'ERROR_MOLECULE_TOO_LARGE': (230, 'The molecule does not fit the slab: {message}'),
    'ERROR_PACKING_FAILED': (231, 'packmol could not build the box: {message}'),
    'ERROR_BOX_TOO_SMALL': (232, 'The box is too small: {message}'),
    # -- 24x: settings -----------------------------------------------------------------------------------------------
    'ERROR_INVALID_SETTINGS': (240, 'Inconsistent settings: {message}'),
    'ERROR_MISSING_CODE': (241, 'The calculator runs through a code and none was given: {message}'),
    'ERROR_INVALID_START_HESSIAN': (242, 'The starting Hessian cannot be used for this task: {message}'),
    # -- 25x: where it runs (the computer's scheduler) ---------------------------------------------------------------
    'ERROR_WALLTIME_EXCEEDS_PARTITION': (250, "The walltime asked exceeds the partition's limit: {message}"),
    'ERROR_UNKNOWN_QUEUE': (251, 'The computer has no such queue (partition): {message}'),
    # -- 3xx: a sub-process failed -----------------------------------------------------------------------------------
    'ERROR_UNRECOVERABLE_FAILURE': (300, 'The calculation failed and no handler could rescue it: {message}'),
    'ERROR_SUB_PROCESS_EXCEPTED': (301, 'The sub process excepted.'),  # aiida-core's BaseRestartWorkChain
    'ERROR_SUB_PROCESS_KILLED': (302, 'The sub process was killed.'),  # aiida-core's BaseRestartWorkChain
    'ERROR_CALCULATION_FAILED': (303, 'The {engine} process failed: {message}'),
    'ERROR_SCF_NOT_CONVERGED': (310, 'The SCF did not converge: {message}'),
    'ERROR_CRASHED': (320, 'The engine crashed {retries} times in a row; last: {message}'),
    'ERROR_PRERANK_FAILED': (330, 'Every binding mode failed at the cheap level.'),
    'ERROR_LIGAND_FAILED': (331, 'The free ligand calculation failed: {message}'),
    'ERROR_REFERENCE_FAILED': (332, 'The reference {reference} failed: {message}'),
    'ERROR_DFT_FAILED': (333, 'Every selected binding mode failed at the DFT level.'),
    'ERROR_SOLVATED_FAILED': (334, 'A solvated single point failed: {message}'),
    'ERROR_NEUTRAL_FAILED': (335, 'The relaxation of the species failed, so no potential: {message}'),
    'ERROR_REDUCED_FAILED': (336, 'The reduced form failed (the oxidation potential is out): {message}'),
    'ERROR_OXIDISED_FAILED': (337, 'The oxidised form failed (the reduction potential is out): {message}'),
    'ERROR_BULK_FAILED': (340, 'The Zn bulk relaxation failed: {message}'),
    'ERROR_SEGMENT_FAILED': (350, 'MD segment {index} failed: {message}'),
    'ERROR_STAGE_FAILED': (360, 'Every child of the {stage} stage failed: {message}'),
    # -- 4xx: the analysis of results --------------------------------------------------------------------------------
    'ERROR_MAXIMUM_ITERATIONS_EXCEEDED': (401, 'The maximum number of iterations was exceeded.'),  # aiida-core
    'ERROR_UNHANDLED_FAILURE': (402, 'The process failed with an unhandled failure.'),  # aiida-core
    'ERROR_QUALITY_FAILED': (410, 'Every {what} changed on relaxation ({stage}), e.g. {problem}: nothing to report.'),
    'ERROR_FREE_ENERGY_FAILED': (411, 'No exchange free energy (the exchange energies are out): {message}'),
    'ERROR_NO_CONFIGURATION': (420, 'No configuration of {molecule} survived: {message}'),
    'ERROR_ANALYSIS_FAILED': (430, 'The analysis failed: {message}'),
}


def declare(spec, *labels: str) -> None:
    """Declare the exit codes ``labels`` of :data:`EXIT_CODES` on a process ``spec``."""
    for label in labels:
        status, message = EXIT_CODES[label]
        spec.exit_code(status, label, message=message)
