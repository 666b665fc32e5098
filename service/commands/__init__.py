"""Use cases, one module per aggregate: load, decide, append (runner.py), with their collaborators as parameters."""

from service.commands.runner import Busy, CommandKey, CommandRunner, KeyReused, Outcome

__all__ = ["Busy", "CommandKey", "CommandRunner", "KeyReused", "Outcome"]
