"""FastAPI application: routing, auth, request/response models."""
