"""Registers every background job kind and periodic task (imported by the worker)."""
