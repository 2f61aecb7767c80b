"""A gunicorn worker, once the app is loaded, freezes the objects alive then (glassbox/gunicorn_conf.py): the
collector leaves them out, and what a request leaves behind is still collected. Its young generation is large: a
request's objects, freed by their reference counts, set off no collection, and a garbage cycle is still collected
when the generation fills."""
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

import weakref
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
answer = [{"row": n} for n in range(gunicorn_conf.YOUNG_GENERATION // 2)]  # a large answer, alive at once
del answer
print(len(collections))
first, second = Cycle(), Cycle()
first.other, second.other = second, first
left = weakref.ref(first)
del first, second
kept = [[] for _ in range(gunicorn_conf.YOUNG_GENERATION + 1)]  # the generation fills: collected by itself
print(len(collections), left() is None)
"""


def test_the_worker_start_hook_freezes_the_loaded_app_and_still_collects_later_garbage(tmp_path):
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "GLASSBOX_SERVICE": "probe",
           "PYTHONPATH": str(PROJECT_ROOT)}
    done = subprocess.run([sys.executable, "-c", START_A_WORKER], env=env, capture_output=True, text=True,
                          timeout=60, check=True)
    frozen, collected, during_the_answer, after_filling, cycle_gone = done.stdout.split()[-5:]
    assert int(frozen) > 10_000  # the interpreter's and the service's objects
    assert int(collected) >= 2  # the cycle made after the hook
    assert int(during_the_answer) == 0
    assert int(after_filling) >= 1 and cycle_gone == "True"
