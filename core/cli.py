"""The command-line contract (docs/ARCHITECTURE.md §10).

Every Winnow command prints one JSON object as its last stdout line (ids and counts, for
scripts to parse); a failure exits non-zero with a one-line reason on stderr.
"""

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.api_errors import ApplicationError


class WinnowCommand(BaseCommand):
    """Subclasses implement `run(**options) -> dict` instead of `handle`."""

    def run(self, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self.run(**options)
        except (ApplicationError, CommandError, ValueError, FileNotFoundError) as exc:
            message = getattr(exc, "message", None) or str(exc)
            self.stderr.write(f"error: {' '.join(str(message).split())}")
            sys.exit(1)
        self.stdout.write(json.dumps(result, sort_keys=True, default=str))
