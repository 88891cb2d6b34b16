"""Accounts: password hashing, access and refresh tokens, attempt rate limits."""
