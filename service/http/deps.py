"""Dependencies shared by the controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidationMarker

from service.application import Accord


def provide_accord(state: State) -> Accord:
    return state.accord


AccordDep = NamedDependency[Annotated[Accord, SkipValidationMarker()]]

DEPENDENCIES = {"accord": Provide(provide_accord, sync_to_thread=False)}
