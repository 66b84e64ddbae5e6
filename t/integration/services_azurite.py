"""The Azurite service for the azurestoragequeues:// integration tests.

:func:`azurite_options` runs ``scripts/services/azurite.sh`` once per test
session (installs Azurite from npm under /tmp/azurite if needed and starts
its queue service on 127.0.0.1:10001, or ``$AZURITE_QUEUE_PORT``), then
checks the port.  When that fails the tests are skipped with the reason, or
fail when ``KOMBU_TEST_REQUIRE_SERVICES=1``.

Azurite's well-known development account (``devstoreaccount1`` and its
public key, documented by Microsoft for the emulator) is used; the endpoint
is given with the transport option ``queue_service_url``.
"""
from __future__ import annotations

import os
from urllib.parse import quote

from scripted_services import ScriptedService

HOST = os.environ.get('AZURITE_HOST', '127.0.0.1')
PORT = int(os.environ.get('AZURITE_QUEUE_PORT', '10001'))

#: Azurite's public development account and key (not a secret).
ACCOUNT = 'devstoreaccount1'
ACCOUNT_KEY = ('Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/'
               'K1SZFPTOtr/KBHBeksoGMGw==')
URL = f'azurestoragequeues://:{quote(ACCOUNT_KEY, safe="")}@{ACCOUNT}'
QUEUE_SERVICE_URL = f'http://{HOST}:{PORT}/{ACCOUNT}'
CONNECTION_STRING = (f'DefaultEndpointsProtocol=http;AccountName={ACCOUNT};'
                     f'AccountKey={ACCOUNT_KEY};QueueEndpoint={QUEUE_SERVICE_URL};')

SERVICE = ScriptedService('azurite', 'azurite.sh', (HOST, PORT),
                          client=('azure.storage.queue', 'azurestoragequeues'),
                          env={'AZURITE_HOST': HOST, 'AZURITE_QUEUE_PORT': str(PORT)})


def azurite_url() -> str:
    """The broker URL of a running Azurite (skip/fail the test when there is none).

    Use it with ``transport_options={'queue_service_url': QUEUE_SERVICE_URL}``.
    """
    SERVICE.ensure()
    return URL
