"""Names of our API on the Kubernetes side."""

GROUP = "ssvm.cloudstack.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
ENDPOINTS = "cloudstackendpoints"
POOLS = "ssvmpools"
SETTINGS = "ssvmsettings"

FINALIZER = f"{GROUP}/finalizer"
DIAGNOSE_ANNOTATION = f"{GROUP}/diagnose"

# How many finished actions status.recentActions keeps for `kubectl describe`.
RECENT_ACTIONS_KEPT = 10
