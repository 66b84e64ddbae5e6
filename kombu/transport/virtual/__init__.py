"""Virtual transport: emulates the AMQ API on top of simple queue stores."""
from __future__ import annotations

from .base import (
                   AbstractChannel,
                   Base64,
                   BrokerState,
                   Channel,
                   Empty,
                   Management,
                   Message,
                   NotEquivalentError,
                   QoS,
                   Transport,
                   UndeliverableWarning,
                   binding_key_t,
                   queue_binding_t,
)

__all__ = (
    'Base64', 'NotEquivalentError', 'UndeliverableWarning', 'BrokerState',
    'QoS', 'Message', 'AbstractChannel', 'Channel', 'Management', 'Transport',
    'Empty', 'binding_key_t', 'queue_binding_t',
)
