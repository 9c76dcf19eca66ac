"""Kubernetes side: kopf handlers, status and conditions, events. The only package that imports kopf."""
