"""The data model of the specification (DM-1..DM-6): value types that validate themselves."""
