"""The web layer: the HTTP face of the service. The app (the webhook intake under /hooks, health,
readiness, metrics), the read API under /api, the pages, and the security headers on every answer."""
