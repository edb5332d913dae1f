"""What a consumer held when its broker connection dropped goes back on reconnect
(core/celery_app/consumer.py + redelivery.on_connection_lost / on_consumer_restart).

The whole path (a real worker, a Sentinel failover) is core/redis/tests/test_sentinel.py; here,
on a private redis-server and a kombu consumer, the two cases that test cannot force: the
message is still in the unacked hash (restored from there), and the broker no longer has it at
all (a promoted replica that had not received that write yet: published again from memory).
"""

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue

from core.celery_app import app, redelivery

pytestmark = [pytest.mark.integration]


@pytest.fixture
def fresh_state(monkeypatch):
    monkeypatch.setattr(redelivery, "_state", redelivery._State())


def _held_message(url: str, queue: Queue):
    conn = Connection(url)
    Producer(conn).publish(
        {"n": 1}, exchange=queue.exchange, routing_key="q", declare=[queue], headers={"h": "v"}
    )
    held = []
    Consumer(conn, [queue], callbacks=[lambda body, message: held.append(message)]).consume()
    conn.drain_events(timeout=2)
    assert len(held) == 1  # delivered, not acknowledged
    return conn, held[0]


@pytest.mark.parametrize("case", ["in-unacked", "gone", "restored-by-kombu"])
def test_held_message_is_back_on_its_queue_once_after_reconnect(broker, fresh_state, case):
    url = broker.url_for(0)
    queue = Queue("q", Exchange("q"), "q")
    conn, message = _held_message(url, queue)
    client = broker.client(0)
    _, _, unacked = redelivery._keys()
    assert client.hlen(unacked) == 1 and client.llen("q") == 0
    if case == "gone":  # the promoted replica never got the write that put it in unacked
        client.delete(unacked, "unacked_index")
    if case == "restored-by-kombu":  # closing reached Redis: kombu put it back itself
        conn.release()
        assert client.llen("q") == 1
    else:  # the connection is gone, closing could not reach Redis
        conn.transport.client = None
        conn._connection = None

    redelivery.on_connection_lost("w1@host", {message.delivery_tag: message})
    assert redelivery.instance_id("w1@host").endswith(".1")  # a new identity from now on
    restored = redelivery.on_consumer_restart("w1@host")

    assert restored == ([] if case == "restored-by-kombu" else [message.delivery_tag])
    assert client.llen("q") == 1 and client.hlen(unacked) == 0  # once, not twice
    with app.connection_for_write() as again:
        got = []
        Consumer(again, [queue], callbacks=[lambda body, m: got.append((body, m))]).consume()
        again.drain_events(timeout=2)
        body, redelivered = got[0]
        assert body == {"n": 1} and redelivered.headers.get("h") == "v"
        redelivered.ack()
    # Nothing left to do on the next reconnect.
    assert redelivery.on_consumer_restart("w1@host") == []


def test_an_acknowledged_message_is_not_sent_again(broker, fresh_state):
    url = broker.url_for(0)
    queue = Queue("q", Exchange("q"), "q")
    conn, message = _held_message(url, queue)
    message.ack()
    conn.release()
    redelivery.on_connection_lost("w1@host", {})  # the consumer held nothing unacknowledged
    assert redelivery.on_consumer_restart("w1@host") == []
    assert broker.client(0).llen("q") == 0
