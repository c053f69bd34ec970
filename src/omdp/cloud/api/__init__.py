"""The cloud's REST API (CL-3..CL-13): queries, bulk downloads, deletes, registry, adapter files.

:func:`~omdp.cloud.api.app.create_app` builds the FastAPI application from
:class:`~omdp.cloud.api.settings.ApiServerSettings` and a
:class:`~omdp.cloud.storage.port.ReadingStore`; who may call it is :mod:`omdp.auth`'s. The
package imports nothing itself, so that its settings can be read without loading FastAPI.
"""
