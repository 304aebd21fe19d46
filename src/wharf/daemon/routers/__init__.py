"""One router per resource: `routes.py` parses requests, `backend.py` declares what it needs."""
