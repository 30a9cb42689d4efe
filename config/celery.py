"""The Celery app. Queues: `default` (CPU work) and `gpu` (training, evaluation, generation).

The embedded default broker is kombu's filesystem transport under var/broker, which needs no
server; remote control (revoke, inspect) does not exist there, so cancelling is cooperative
through the Job row and works the same on every broker.
"""

import os

from celery import Celery
from django.conf import settings
from kombu import Queue

# Production unless told otherwise (`make run` and the tests name their settings).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("winnow")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _broker_transport_options() -> dict:
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        queue_dir = settings.BROKER_DIR / "queue"
        processed_dir = settings.BROKER_DIR / "processed"
        control_dir = settings.BROKER_DIR / "control"
        for folder in (queue_dir, processed_dir, control_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed_dir),
            "control_folder": str(control_dir),
            "store_processed": False,
        }
    return {"visibility_timeout": settings.CELERY_VISIBILITY_TIMEOUT}


@app.on_after_configure.connect
def _configure(sender: Celery, **kwargs: object) -> None:
    sender.conf.update(
        broker_transport_options=_broker_transport_options(),
        task_queues=[Queue("default"), Queue("gpu")],
        task_default_queue="default",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=False,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "reap-orphaned-jobs": {"task": "jobs.reap_orphaned_jobs", "schedule": settings.JOB_REAP_INTERVAL},
        },
        beat_schedule_filename=str(settings.VAR_DIR / "celerybeat-schedule"),
    )


app.autodiscover_tasks()
