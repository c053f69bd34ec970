"""``omdp demo``: the whole platform in one process, with simulated meters and a year of history.

:mod:`omdp.demo.layout` says what runs (households, meters, ports, files), :mod:`.history` makes
the backfilled year, :mod:`.broker` embeds the MQTT broker and :mod:`.runner` starts and stops
everything.
"""
