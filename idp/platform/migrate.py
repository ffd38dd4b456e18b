"""Flask-Migrate's extension (`idp db …`, the scripts in idp/migrations), hooked in by the app factory for
every process but the workers of `idp serve` (they serve requests only and never load Alembic)."""
from flask_migrate import Migrate

from idp.platform.extensions import MIGRATIONS_DIR


def compare_server_default(context, _inspected_column, _metadata_column, inspected, _metadata_default, rendered):
    """Alembic's own comparison, except that on SQLite it takes server_default="" for a change (it strips the
    quotes of the reflected "''" only when something is between them)."""
    if context.dialect.name == "sqlite" and rendered == "" and inspected in ("''", "('')"):
        return False
    return None


# render_as_batch: SQLite cannot ALTER most things, so scripts use batch_alter_table (a no-op wrapper elsewhere);
# compare_server_default: `idp db migrate` also notices changed server defaults.
migrate = Migrate(directory=MIGRATIONS_DIR, compare_type=True, render_as_batch=True,
                  compare_server_default=compare_server_default)
