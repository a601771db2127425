"""Digit recognition core: data, preprocessing, model, training, inference.

Framework-free on purpose: nothing under ``ml/`` imports Django, so the same code runs in
the web process, in Celery workers, in management commands and in plain scripts.
"""
