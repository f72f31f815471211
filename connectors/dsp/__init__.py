"""Dataspace Protocol 2025-1: consumer, provider and ODRL usage-policy evaluation."""
