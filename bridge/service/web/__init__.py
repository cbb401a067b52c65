"""The web layer: the HTTP face of the service. The app (health, readiness, metrics), the read API under
/api, the webhook intake under /hooks, the pages, and the security headers on every answer; it runs on
the small protocols in backend.py."""
