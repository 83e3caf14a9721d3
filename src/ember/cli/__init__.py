"""The `ember` command: `ember run SCRIPT` and `ember train`."""
