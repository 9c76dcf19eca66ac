"""The CloudStack side: one client per endpoint over cs.AIOCloudStack, one inventory per poll.

This is the only package that imports `cs`.
"""
