"""One module a `tablesafe` command: each has its `cmd_*` function, taking the Context and returning the exit code."""
