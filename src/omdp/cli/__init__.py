"""The ``omdp`` command line."""
