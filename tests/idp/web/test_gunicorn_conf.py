"""The gunicorn settings the benches use (idp/web/gunicorn_conf.py); `make run` serves with `idp serve`."""
import gc
import os

from idp.web import gunicorn_conf


def test_worker_moves_what_it_loaded_to_the_permanent_generation():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        gunicorn_conf.post_worker_init(worker=None)
        assert gc.get_freeze_count() > 1000  # the modules and objects this process holds
    finally:
        gc.unfreeze()


def test_the_token_bench_uses_it():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "oidc.py")) as bench:
        assert '"-c", "python:idp.web.gunicorn_conf"' in bench.read()
