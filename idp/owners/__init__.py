"""Owners (契約者): the contract holder of a tenant, a principal of its own with its own login,
sessions and emailed links, optional federation to an upstream OpenID provider, the contract page,
the hand-over to a new owner and the exports before termination."""
