"""The one FastAPI app that every deployment in this repo serves."""
