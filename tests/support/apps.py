"""Apps a test builds besides the `app` fixture (other instances, other settings)."""
from contextlib import contextmanager

from idp import create_app
from idp.platform.extensions import db


@contextmanager
def app_builder(config_of):
    """Yields `make(*args, **kwargs)`: create_app(config_of(n, *args, **kwargs)), n = how many were built
    before; every app's session and engine are released at the end."""
    built = []

    def make(*args, **kwargs):
        application = create_app(config_of(len(built), *args, **kwargs))
        built.append(application)
        return application

    try:
        yield make
    finally:
        for application in built:
            with application.app_context():
                db.session.remove()
                db.engine.dispose()
