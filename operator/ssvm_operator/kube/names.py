"""Names of our API on the Kubernetes side."""

GROUP = "ssvm.cloudstack.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
ENDPOINTS = "cloudstackendpoints"
POOLS = "ssvmpools"
SETTINGS = "ssvmsettings"

FINALIZER = f"{GROUP}/finalizer"
DIAGNOSE_ANNOTATION = f"{GROUP}/diagnose"
# Set on an SSVMSettings by an admin who restarted the management servers of a CloudStack that does not
# report when they started (before 4.17): the time of the restart, e.g. 2026-11-27T10:00:00Z.
RESTART_CONFIRMED_ANNOTATION = f"{GROUP}/management-servers-restarted-at"

# How many finished actions status.recentActions keeps for `kubectl describe`.
RECENT_ACTIONS_KEPT = 10
