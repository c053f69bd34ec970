"""The concentrator / IoT edge (CO-1..CO-4, APP-1, APP-4).

It takes every message of its adapters (``smartMeterMessage/#`` on the local broker, or handed
in-process with :meth:`~omdp.edge.service.EdgeService.submit`), makes it durable in an on-disk
outbox before acknowledging it, forwards it byte for byte to a :class:`~omdp.delivery.sink.Sink`
(the cloud broker today), and keeps live values and local alerts for the app.
"""
