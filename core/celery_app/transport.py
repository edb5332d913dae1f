"""kombu's Redis transport with a fix for the worker crash on a broker outage (issue 9).

The crash (kombu 5.7.0, celery 5.7.0; upstream: celery/kombu#582, celery/kombu#970): when the
broker connection drops, celery's ``Consumer.on_connection_error_after_connected`` calls
``connection.collect()`` and then ``connection.close()``.

1. ``collect()`` closes the channels while Redis is unreachable. A channel whose close raises
   half-way (the pending ``BRPOP`` read, or deleting an auto-delete fanout queue of the
   pidbox/gossip channel, fails with ``ConnectionError``) is left open, and the first such error
   ends the loop over the remaining channels. ``collect()`` then sets ``transport.client = None``.
2. ``close()`` closes the default channel (the one the task consumer reads, holding the
   unacknowledged messages) again. This time it gets through: the pools are dropped and
   ``QoS.restore_unacked_once`` asks for a client, hence a new pool, and kombu's ``_connparams``
   reads ``self.connection.client.hostname`` on ``None``. ``AttributeError`` is not a connection
   error, ``ignore_errors`` lets it through, and the worker exits with
   ``Unrecoverable error: AttributeError("'NoneType' object has no attribute 'hostname'")``.

The fix (:class:`ConnectionInfoMixin`): a channel remembers the ``kombu.Connection`` it was
opened for, and builds its pools from it once the transport has been collected. The restore then
either reaches Redis (a quick restart: the messages go back to their queue at once) or fails with
a connection error that ``ignore_errors`` does catch; the messages also stay in the broker's
unacked hash until then (see ``docs/celery.md``, redelivery). Pools made during ``close()`` are
released again afterwards.

A second crash of the same kind (seen in ``make chaos``, Redis restart): a task that was running
when the connection dropped finishes after the consumer has reconnected and acknowledges its
message on the old channel, closed by then (``channel.connection`` is ``None``); kombu reads
``None.client`` and the worker exits with ``AttributeError: 'NoneType' object has no attribute
'client'``. The mixin raises a redis ``ConnectionError`` there instead, which celery's
``ack_log_error`` logs ("Couldn't ack"); the message, still unacked in the broker, is redelivered.

Selected with ``CELERY_BROKER_TRANSPORT`` (settings: ``redis://`` -> :class:`Transport`,
``sentinel://`` -> :class:`SentinelTransport`, the mixin on kombu's ``SentinelChannel``).
``rediss://`` keeps kombu's transport: the URL's scheme is what turns TLS on there. Remove it when a kombu
release fixes the close path (check the upstream issues above, and the integration test
``core/celery_app/tests/test_broker_outage.py`` without it).
"""

from __future__ import annotations

import redis.exceptions
from kombu.transport import redis as kombu_redis


class ConnectionInfoMixin:
    """For a kombu Redis channel class: pools keep working after ``Connection.collect()``."""

    def __init__(self, *args, **kwargs):
        # The transport is the channel's ``connection``; its ``client`` is the kombu.Connection
        # (hostname, port, password, virtual host, ...) until collect() sets it to None.
        connection = kwargs.get("connection", args[0] if args else None)
        self._erp_conninfo = getattr(connection, "client", None)
        super().__init__(*args, **kwargs)

    def _get_pool(self, asynchronous=False):
        transport = self.connection
        if transport is None:
            # A closed channel (its connection was lost and collected): a task that was running
            # then acks or rejects on it after the consumer reconnected. kombu reads
            # ``None.client`` (AttributeError: the worker exits); a connection error is what
            # celery expects there ("Couldn't ack ...", logged): the message stays unacked in
            # the broker and is redelivered (core/celery_app/redelivery.py).
            raise redis.exceptions.ConnectionError(
                "channel closed: its broker connection was lost (message not acknowledged)"
            )
        if transport.client is not None or self._erp_conninfo is None:
            return super()._get_pool(asynchronous=asynchronous)
        # Collected transport (see the module docstring): build the pool from the connection
        # info the channel was opened with. The worker's event loop is single-threaded, and the
        # transport is no longer in use by anything but this closing channel.
        transport.client = self._erp_conninfo
        try:
            return super()._get_pool(asynchronous=asynchronous)
        finally:
            transport.client = None

    def close(self):
        try:
            super().close()
        finally:
            if self.closed:
                # Restoring unacked messages during close may have created new pools.
                self._disconnect_pools()


class Channel(ConnectionInfoMixin, kombu_redis.Channel):
    pass


class Transport(kombu_redis.Transport):
    Channel = Channel


class SentinelChannel(ConnectionInfoMixin, kombu_redis.SentinelChannel):
    pass


class SentinelTransport(kombu_redis.SentinelTransport):
    Channel = SentinelChannel
