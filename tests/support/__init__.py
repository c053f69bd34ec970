"""Throwaway real services for tests: Mosquitto brokers and PostgreSQL clusters."""
