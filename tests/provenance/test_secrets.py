"""The secret scan of the provenance graph (provenance/secrets.py) finds what is planted and nothing in clean data."""

from __future__ import annotations

import io

from aiida import orm

from aiida_znadditive.provenance.secrets import find_secrets


def test_planted_credentials_are_found_where_they_are(aiida_profile):
    key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n'
    leaky = orm.Dict({'prepend_text': 'export DB_PASSWORD=hunter2hunter2', 'url': 'postgres://me:s3cret@db/x'}).store()
    keyfile = orm.SinglefileData(io.BytesIO(key.encode()), filename='id_ed25519').store()
    token = orm.Str('ghp_' + 'a1B2' * 9).store()
    clean = orm.Dict({'smiles': 'CS(C)=O', 'options': {'account': 'proj_1', 'queue_name': 'cpu'}}).store()

    findings = find_secrets([leaky, keyfile, token, clean], known=['b3BlbnNzaC1rZXkt'])
    found = {(f.node, f.where, f.what) for f in findings}
    assert found == {
        (leaky.pk, 'attributes', 'password assignment'),
        (leaky.pk, 'attributes', 'URL with a password'),
        (keyfile.pk, 'id_ed25519', 'private key'),
        (keyfile.pk, 'id_ed25519', 'known secret'),
        (token.pk, 'attributes', 'GitHub token'),
    }
