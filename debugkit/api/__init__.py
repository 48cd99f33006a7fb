"""Talking to the Skyvern API: the client, the fetcher that writes run folders, the cache."""
