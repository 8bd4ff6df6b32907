"""Recurrent character models: define, train, save/load, trace, sample.

Kept import-light: ``models.trace`` (the Trace) needs only NumPy; torch loads with the
submodules that need it.
"""
