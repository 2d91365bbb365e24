"""`python -m tablesafe_cli`: the operator CLI."""

from tablesafe_cli.main import main

raise SystemExit(main())
