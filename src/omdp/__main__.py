"""``python -m omdp`` runs the ``omdp`` command."""

from omdp.cli.main import main

main()
