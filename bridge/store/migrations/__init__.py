"""The store's Alembic migrations (env.py and versions/), shipped inside the package."""
