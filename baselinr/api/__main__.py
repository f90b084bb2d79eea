"""``python -m baselinr.api``: serve with the settings of the environment (or ``.env``)."""

from baselinr.api.serve import serve_from_environment

if __name__ == "__main__":
    serve_from_environment()
