"""Reusable constructs: each builds one capability with the platform's secure defaults."""
