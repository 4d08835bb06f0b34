"""Profiles are created once; a second call changes nothing; a mismatch is refused with a way out."""

import pytest

from aiida_znadditive.environment.profiles import ProfileError, ensure_embedded_profile


def test_embedded_profile_idempotent(aiida_config_tmp, tmp_path):
    message = ensure_embedded_profile('demo-profile', tmp_path / 'storage')
    assert message.startswith('created embedded profile `demo-profile`')
    profile = aiida_config_tmp.get_profile('demo-profile')
    assert profile.storage_backend == 'core.sqlite_dos'
    assert profile.process_control_backend is None
    assert (tmp_path / 'storage' / 'demo-profile').is_dir()
    assert ensure_embedded_profile('demo-profile', tmp_path / 'storage') == 'profile `demo-profile` exists (unchanged)'
    assert aiida_config_tmp.profile_names.count('demo-profile') == 1


def test_profile_with_other_backend_is_refused(aiida_config_tmp, aiida_profile_factory):
    with (
        aiida_profile_factory(aiida_config_tmp, name='taken', broker_backend='core.rabbitmq'),
        pytest.raises(ProfileError, match='verdi profile delete taken'),
    ):
        ensure_embedded_profile('taken')


def test_a_default_that_names_no_profile_is_repaired(aiida_config_tmp, tmp_path):
    """A default profile that no longer exists (a deleted or temporary profile a tool wrote as default) would stop
    every command without -p: setting up the profile again makes it the default, and a default that exists is
    kept."""
    ensure_embedded_profile('kept', tmp_path / 'storage')
    aiida_config_tmp.set_default_profile('kept', overwrite=True).store()
    ensure_embedded_profile('other', tmp_path / 'storage')
    assert aiida_config_tmp.default_profile_name == 'kept'  # an existing default is not taken over
    aiida_config_tmp._default_profile = 'znadditive-docs'  # what a docs build left behind, before its fix
    aiida_config_tmp.store()
    message = ensure_embedded_profile('other', tmp_path / 'storage')
    assert (
        message == 'profile `other` exists (unchanged; now the default: the default `znadditive-docs` named no profile)'
    )
    assert aiida_config_tmp.default_profile_name == 'other'
