"""gunicorn settings for the benches and whoever serves with gunicorn (`make run` uses `idp serve`):
`gunicorn -c python:idp.web.gunicorn_conf 'idp:create_app()'`.

After a worker has built the app, everything it holds (modules, the app, the URL map, cached
templates and keys) moves to the permanent generation of Python's garbage collector
(`gc.freeze()`): full collections no longer walk those ~150 000 long-lived objects, which
otherwise cost ~50-100 ms each, on a request's path (seen in the p99 of bench/oidc.py).

The access and error logs go through `idp.platform.log_redaction`: link tokens, codes and ID token
hints in request lines, query strings and Referers are written as `[redacted]` (`RedactingLogger`).
"""
import gc

from gunicorn.glogging import Logger

from idp.platform.log_redaction import FILTER


class RedactingLogger(Logger):
    """gunicorn's logger with the redacting filter on its access and error logs.

    The filter rewrites the finished line, so every atom of any `access_log_format` is covered (the
    request line `r`, `U`, `q`, the Referer `f`, `{…}i`/`{…}o`/`{…}e` headers and environ), and the error
    log's "Error handling request /activate/…" too. setup() runs again on a configuration reload.
    """

    def setup(self, cfg):
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(FILTER)


logger_class = RedactingLogger


def post_worker_init(worker):
    gc.collect()
    gc.freeze()
