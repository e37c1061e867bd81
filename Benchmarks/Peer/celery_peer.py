"""The Celery peer of swift-batch's `hello` job: one no-op task per start message, acknowledged late, one message
prefetched per process, its result and arguments stored in PostgreSQL (the closest Celery has to a job execution
row). Configured from the environment by peer_throughput.py."""

import os

from celery import Celery

app = Celery("celery_peer", broker=os.environ["PEER_CELERY_BROKER"], backend=os.environ["PEER_CELERY_BACKEND"])
app.conf.update(
    task_acks_late=True,
    worker_prefetch_multiplier=1,
    result_extended=True,
    task_default_queue=os.environ.get("PEER_CELERY_QUEUE", "peer_celery"),
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)


@app.task(name="noop_job")
def noop_job(date):
    """A job with one step that does nothing, as `hello` is."""
    return {"date": date, "status": "COMPLETED"}
