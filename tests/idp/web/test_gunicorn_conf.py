"""The gunicorn settings (idp/web/gunicorn_conf.py) for those who serve with gunicorn; `make run` and the
benches serve with `idp serve`."""
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


def test_the_benches_serve_as_make_run_does():
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "oidc.py")) as bench:
        text = bench.read()  # bench/saml.py starts its server through oidc.py's `served`
    assert '"idp"), "serve"' in text and "gunicorn" not in text
