"""Scoring an address for a community: see service.py."""
