"""The demo: a chain of served runnables over a dataset (`python -m bridge demo`)."""
