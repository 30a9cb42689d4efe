"""Local development and `make run`: embedded SQLite and filesystem broker unless env says otherwise."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
