"""Pulumi ComponentResources for asynchronous APIs; they know no particular workload."""

from __future__ import annotations

from components.async_resolver_api import AsyncResolverApi
from components.async_worker import AsyncWorker, AsyncWorkerArgs
from components.front_function import FrontFunction, FrontFunctionArgs

__all__ = [
    "AsyncResolverApi",
    "AsyncWorker",
    "AsyncWorkerArgs",
    "FrontFunction",
    "FrontFunctionArgs",
]
