"""Operations: the decorator, the registry, and the standard library."""

from catenary.operations.decorator import Operation, operation
from catenary.operations.registry import Registry, default_registry

__all__ = ["Operation", "Registry", "default_registry", "operation"]
