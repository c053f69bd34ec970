"""Protocol simulators of meters, for tests and demonstrations."""
