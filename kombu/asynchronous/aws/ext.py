"""Amazon boto3 interface (names that work without boto3 installed)."""
from __future__ import annotations

try:
    import boto3
    from botocore import exceptions
    from botocore.awsrequest import AWSRequest
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.response import get_response
except ImportError:  # pragma: no cover - exercised only without boto3
    boto3 = None
    exceptions = None
    AWSRequest = None
    get_response = None

    class BotoCoreError(Exception):
        """Stand-in for :class:`botocore.exceptions.BotoCoreError` (boto3 missing)."""

    class ClientError(Exception):
        """Stand-in for :class:`botocore.exceptions.ClientError` (boto3 missing)."""

__all__ = ('exceptions', 'BotoCoreError', 'ClientError', 'AWSRequest', 'boto3',
           'get_response')

MISSING = 'The SQS transport requires boto3 and pycurl: pip install "kombu[sqs]"'


def require_boto3() -> None:
    """Raise ImportError naming the extra when boto3 is missing."""
    if boto3 is None:
        raise ImportError(MISSING)
