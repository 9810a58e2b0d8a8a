"""The reference points the app is measured against: a bare ASGI floor and a naive peer."""
