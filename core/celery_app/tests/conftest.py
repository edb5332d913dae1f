import pytest

from core.celery_app.testing import (
    Beat,
    RedisServer,
    Worker,
    broker_for_tests,
)


@pytest.fixture
def health_client(client):
    """The Django test client (probe threads close their DB connections in test settings)."""
    return client


@pytest.fixture
def redis_server(tmp_path):
    """A private redis-server for this test (started; ``.stop()``/``.start()`` to toggle)."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def broker(redis_server, settings):
    """This process publishes to the private Redis (DB 0), eager mode off."""
    with broker_for_tests(redis_server.url_for(0), settings):
        yield redis_server


@pytest.fixture
def start_worker(broker, tmp_path):
    """``start_worker(name, **env)`` → a running Worker; all are stopped at teardown."""
    workers: list[Worker] = []

    def start(name: str = "w1", *, wait: bool = True, worker_options=None, **env) -> Worker:
        options = worker_options or {}
        worker = Worker(broker.url_for(0), tmp_path, name=name, extra_env=env, **options)
        workers.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()
        # Shown by pytest only when the test failed.
        print(f"--- {worker.name} log ---\n{worker.log.read_text()[-4000:]}")


@pytest.fixture
def start_beat(broker, tmp_path):
    beats: list[Beat] = []

    def start() -> Beat:
        beat = Beat(broker.url_for(0), tmp_path)
        beats.append(beat)
        return beat

    yield start
    for beat in beats:
        beat.stop()
        print(f"--- beat log ---\n{beat.log.read_text()[-4000:]}")
