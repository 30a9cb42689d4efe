"""System checks of the deployment (`manage.py check --deploy`).

The object store's conditional writes are probed here, at deploy time, and not at every start: the probe writes
to the bucket (seven requests), which `manage.py` commands, the web process's start and the tests' many
processes should not pay. Saves probe by themselves once per process (core.s3), so a deployment that skips
this check still fails at its first save rather than replacing a file.
"""

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core import checks
from django.core.files.storage import storages

STORE_IGNORES_CONDITIONAL_WRITES = "core.E001"
STORE_NOT_PROBED = "core.E002"


@checks.register("storage", deploy=True)
def object_store_conditional_writes(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """With WINNOW_STORAGE=s3: an error unless the store refuses a conditional write onto an existing key."""
    from core.s3 import S3ObjectStorage  # noqa: PLC0415 - boto3 loads only where object storage is configured
    from core.s3_upload import ConditionalWritesIgnored  # noqa: PLC0415 - likewise

    storage = storages["default"]
    if not isinstance(storage, S3ObjectStorage):
        return []
    try:
        storage.conditional_writes_check()
    except ConditionalWritesIgnored as ignored:
        return [checks.Error(str(ignored), id=STORE_IGNORES_CONDITIONAL_WRITES)]
    except (BotoCoreError, ClientError) as error:
        endpoint = storage.connection.meta.client.meta.endpoint_url
        reason = f"could not probe the object store at {endpoint} (bucket {storage.bucket_name}): {error}"
        return [checks.Error(reason, hint="credentials, bucket name, endpoint", id=STORE_NOT_PROBED)]
    return []
