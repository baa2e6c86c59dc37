"""Pulumi ComponentResources for asynchronous APIs; they know no particular workload."""

from __future__ import annotations

from components.async_worker import AsyncWorker, AsyncWorkerArgs

__all__ = ["AsyncWorker", "AsyncWorkerArgs"]
