"""gunicorn settings for `make run` and the benches: `gunicorn -c python:idp.web.gunicorn_conf 'idp:create_app()'`.

After a worker has built the app, everything it holds (modules, the app, the URL map, cached
templates and keys) moves to the permanent generation of Python's garbage collector
(`gc.freeze()`): full collections no longer walk those ~150 000 long-lived objects, which
otherwise cost ~50-100 ms each, on a request's path (seen in the p99 of bench/oidc.py).
"""
import gc


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
