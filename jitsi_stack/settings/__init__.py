"""The settings: layers, schema, upstream facts, rules; everything the settings file means
before a Deployment exists."""
