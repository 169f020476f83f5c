"""ASGI entry point for ``uvicorn --factory``: settings from the environment, then the app."""

from __future__ import annotations

from fastapi import FastAPI

from punchlog.api.app import create_app
from punchlog.settings import Settings


def app_from_env() -> FastAPI:
    return create_app(Settings())
