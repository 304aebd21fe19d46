"""The HTTP side of wharfd: app assembly, middleware, status mapping, hijacked streams."""
