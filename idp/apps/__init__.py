"""Apps (relying parties) of a tenant, and the one access check both protocols use: an account may
use an app when its group is assigned to it."""
