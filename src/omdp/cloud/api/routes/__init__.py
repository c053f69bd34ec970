"""One router per feature of the API."""
