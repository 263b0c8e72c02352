"""The `airlock` command line."""
