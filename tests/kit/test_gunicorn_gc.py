"""A gunicorn worker, once the app is loaded, freezes the objects alive then (glassbox/gunicorn_conf.py): the
collector leaves them out, and what a request leaves behind is still collected."""
import os
import subprocess
import sys

from glassbox.config import PROJECT_ROOT

START_A_WORKER = """
import gc
from glassbox import gunicorn_conf
import services.analytics  # a service's modules, loaded before the hook as gunicorn loads the app
assert gc.get_freeze_count() == 0
gunicorn_conf.post_worker_init(None)
frozen = gc.get_freeze_count()

class Cycle:
    pass

def garbage():
    first, second = Cycle(), Cycle()
    first.other, second.other = second, first

garbage()
print(frozen, gc.collect())
"""


def test_the_worker_start_hook_freezes_the_loaded_app_and_still_collects_later_garbage(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "GLASSBOX_SERVICE": "probe",
           "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", START_A_WORKER], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    frozen, collected = map(int, done.stdout.split()[-2:])
    assert frozen > 10_000  # the interpreter's and the service's objects
    assert collected >= 2  # the cycle made after the hook
