"""The additive's species at the electrolyte's pH, as a calcfunction: the provenance graph shows which protonation
state (and charge) the complexes were built for, at which pH and by which tool.

Bad input is a failed node, not an exception: ``speciate_additive`` returns an exit code per
:class:`~aiida_znadditive.structures.speciation.SpeciationError` reason (as ``analyse_solvation_shell`` does for its
input errors), so a WorkChain or a batch reads ``exit_status`` and goes on, and the failure with its message stays in
the graph next to the input that caused it.
"""

from __future__ import annotations

from aiida import orm
from aiida.engine import ExitCode, calcfunction

from ..structures.speciation import PKA_OVERRIDES, SpeciationError, speciate, tool_version

# Exit codes of speciate_additive, one per SpeciationError reason, plus a pH outside 0..14.
EXIT_INVALID_SMILES = 310
EXIT_SPECIATION_FAILED = 311
EXIT_NO_SPECIES = 312
EXIT_IMPOSSIBLE_CHARGE = 313
EXIT_INVALID_PH = 314
EXIT_STATUSES = {
    'invalid_smiles': EXIT_INVALID_SMILES,
    'speciation_failed': EXIT_SPECIATION_FAILED,
    'no_species': EXIT_NO_SPECIES,
    'impossible_charge': EXIT_IMPOSSIBLE_CHARGE,
}


@calcfunction
def speciate_additive(smiles: orm.Str, ph: orm.Float) -> orm.Dict | ExitCode:
    """Dominant microspecies of the additive ``smiles`` at ``ph`` (see :func:`~.structures.speciation.speciate`).

    Returns a Dict with ``input_smiles``, ``smiles`` (the species), ``charge``, ``ph``, ``spectators`` (counter-ions
    dropped from a salt), ``changes`` (what protonation changed), ``tool`` and ``tool_version``, and the pKa
    overrides in force (``pka_overrides``: name, SMARTS, pKa values, source), which are part of the method. A
    speciation error gives exit status 310-313 (:data:`EXIT_STATUSES`), a pH outside 0..14 status 314; the exit
    message says why.
    """
    try:
        species = speciate(smiles.value, ph.value)
    except SpeciationError as error:
        return ExitCode(EXIT_STATUSES[error.reason], str(error))
    except ValueError as error:  # the pH; speciate raises nothing else outside SpeciationError
        return ExitCode(EXIT_INVALID_PH, str(error))
    return orm.Dict(
        {
            **species.as_dict(),
            'tool_version': tool_version(),
            'pka_overrides': [
                {
                    'name': entry.name,
                    'smarts': entry.smarts,
                    'pka': [pka for _, pka in entry.sites],
                    'source': entry.source,
                }
                for entry in PKA_OVERRIDES
            ],
        }
    )
