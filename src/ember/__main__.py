"""`python -m ember ...` is the `ember` command."""
from .cli.main import main

raise SystemExit(main())
