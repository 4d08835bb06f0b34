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
        aiida_profile_factory(aiida_config_tmp, name='taken', broker_backend='core.zeromq'),
        pytest.raises(ProfileError, match='verdi profile delete taken'),
    ):
        ensure_embedded_profile('taken')
