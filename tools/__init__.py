"""Developer tooling: a private Redis and the local process runner."""
