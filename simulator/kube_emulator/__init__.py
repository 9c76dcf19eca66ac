"""A Kubernetes API emulator on kmock, faithful enough for kopf and kubectl."""
