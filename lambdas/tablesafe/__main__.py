"""`python -m tablesafe`: the operator CLI."""

from tablesafe.cli import main

raise SystemExit(main())
