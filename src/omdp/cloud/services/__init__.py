"""Use cases of the cloud over the storage roles: what the routes, the edge and the CLI call.

Each service runs one use case in one unit of work (one transaction), so that its checks and
its writes see the same state.
"""
