"""Owner (契約者) pages under /contract: contract login, contract page, hand-over, termination."""
from flask import Blueprint

bp = Blueprint("contract", __name__, url_prefix="/contract")
