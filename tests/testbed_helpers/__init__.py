"""Small clients for tests against the test-bed images: an XMPP-over-BOSH client
(`bosh`), HS256/384/512 tokens built by hand (`tokens`) and a TURN relay check
with aioice (`turn`)."""
