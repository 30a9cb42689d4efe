"""Start-up stays light: no process loads torch, FAISS, open_clip, cleanlab, diffusers, scikit-learn, SciPy,
pandas or OpenCV before it needs them (the web process: 101 MiB and 1 s instead of 900 MiB and 5 s).

Each check runs in a fresh interpreter (this test process has long imported everything). When one
fails, the message names the chain of project modules that pulled the library in.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "faiss", "open_clip", "cleanlab", "diffusers", "sklearn", "scipy", "pandas", "cv2")

# Records, for the first import of each heavy library, the project modules on the stack.
PROBE = """
import importlib.abc, json, os, sys, traceback
HEAVY = {heavy!r}
chains = {{}}

class Probe(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        top = name.partition(".")[0]
        if top in HEAVY and top not in chains:
            root = os.getcwd() + os.sep
            frames = [f.filename[len(root):] for f in traceback.extract_stack()
                      if f.filename.startswith(root) and "/.venv/" not in f.filename]
            chains[top] = " <- ".join(reversed(frames))
        return None

sys.meta_path.insert(0, Probe())
import django
django.setup()
{then}
print(json.dumps(chains))
"""

IMPORT_URLCONFS_AND_ADMIN = """
from django.contrib import admin
from django.urls import URLResolver, get_resolver

def walk(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            walk(pattern.url_patterns)

walk(get_resolver().url_patterns)
admin.site.get_urls()
"""


def heavy_imports(then: str = "") -> dict[str, str]:
    """{library: chain of project files that imported it} after django.setup() (and `then`) in a new process."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY, then=then)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_django_setup_imports_no_heavy_library():
    # given a fresh process (a worker that has not run a job yet, a management command)
    # when Django starts: settings, every app's models, admin modules and job kinds
    chains = heavy_imports()

    # then none of the heavy libraries is loaded
    assert chains == {}


def test_url_confs_and_admin_import_no_heavy_library():
    # given a fresh process
    # when Django starts and every URLconf and the admin site's URLs are imported (the web process, `manage.py check`)
    chains = heavy_imports(IMPORT_URLCONFS_AND_ADMIN)

    # then none of the heavy libraries is loaded
    assert chains == {}


def test_job_kind_names_match_the_services_that_define_them():
    from robustness.evaluation import job_kinds as evaluation_job_kinds
    from robustness.evaluation.services import EVALUATE_JOB_KIND
    from robustness.job_kinds import TRAIN_JOB_KIND
    from robustness.services.training import TRAIN_JOB_KIND as SERVICE_TRAIN_JOB_KIND

    assert TRAIN_JOB_KIND == SERVICE_TRAIN_JOB_KIND
    assert evaluation_job_kinds.EVALUATE_JOB_KIND == EVALUATE_JOB_KIND


LIST_EVERY_REGISTRY = """
import importlib
from core.registry import Registry
for path in REGISTRY_MODULES:
    for registry in vars(importlib.import_module(path)).values():
        if isinstance(registry, Registry):
            assert registry.names(), registry
            for name in registry.names():
                registry.metadata(name)
"""
# where the registries live: the names that forms, serializers and parameter checks offer come from these
REGISTRY_MODULES = (
    "curation.ml.encoder_registry",
    "curation.ml.mask_registry",
    "curation.ml.generators.base",
    "curation.pruning.services.methods",
    "robustness.ml.registry",
    "explain.ml.registry",
)


def test_every_registry_lists_its_names_and_metadata_without_a_heavy_library():
    # given a fresh web process
    # when it reads the names and metadata of every registry (form choices, parameter checks)
    chains = heavy_imports(f"REGISTRY_MODULES = {REGISTRY_MODULES!r}\n{LIST_EVERY_REGISTRY}")

    # then none of the heavy libraries is loaded: the entries that build things are lazy
    assert chains == {}


def test_the_prune_job_path_imports_no_heavy_library_until_it_clusters():
    # given a worker that has started
    # when it imports the prune job's services (k-means imports FAISS when it runs)
    chains = heavy_imports("import curation.pruning.services.pruning, curation.pruning.services.clustering")

    # then neither torch nor FAISS is loaded yet
    assert chains == {}
