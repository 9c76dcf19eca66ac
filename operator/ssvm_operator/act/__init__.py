"""Carries out planned actions in CloudStack and follows their async jobs to the end."""
