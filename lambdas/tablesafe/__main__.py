"""`python -m tablesafe`: the operator CLI, which lives in tablesafe_cli (not in the functions' code asset)."""

from tablesafe_cli.main import main

raise SystemExit(main())
