"""Store-and-forward, shared by the adapter and the edge (AD-4, CO-2, CO-3).

A message enters an :class:`~omdp.delivery.outbox.Outbox` (on disk:
:class:`~omdp.delivery.sqlite_outbox.SqliteOutbox`) before it is acknowledged upstream; the
:class:`~omdp.delivery.forwarder.Forwarder` hands it to a :class:`~omdp.delivery.sink.Sink`
and deletes it only once the sink has it durably: the next broker's PUBACK
(:class:`~omdp.delivery.sink.MqttSink`) or the cloud ingest's receipt
(:class:`~omdp.delivery.cloud_sink.CloudSink`). The package depends on the MQTT client and the
topics, never on the adapter or the edge that use it.
"""
