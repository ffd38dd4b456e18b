"""Infrastructure every context may use: configuration, clock, errors, the database extension and
schema, row writes for the hot paths, the per-process config cache, mail, SMS, rate limits, signals.

Nothing here knows about accounts, apps or protocols; the contexts build on it.
"""
