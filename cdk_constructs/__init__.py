"""Reusable, secure-by-default constructs of the Secure ML Platform.

This package is named ``cdk_constructs`` (not ``constructs``) because a top-level package
called ``constructs`` would shadow the ``constructs`` library that aws-cdk-lib imports.
"""
