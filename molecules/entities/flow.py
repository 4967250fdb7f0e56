"""Flows as entities: steps run in order, each a list of actions (refs to runnables).

```python
{"name": "review", "steps": [["prompt:draft"], ["evaluator_revision:tone", "action:fix"]]}
```

A step is a list of actions, or `{"id", "label", "actions": [...]}`; an action is a ref
("kind:id"), or `{"ref", "id", "label", "inputs", "mappings"}` as the runner's
`runnable.runner.flow.Action` takes it. Steps and actions without an id are named by
position: step `s0`, its actions `s0a0`, `s0a1`... `FlowData.to_flow()` gives the flow
the runner runs; `flow_molecule(source)` keeps flows in a source like any entity.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from molecules.core.atom import Getter
from molecules.source_molecule import SourceMolecule
from runnable.runner.errors import FlowError
from runnable.runner.flow import Action, Flow, Step
from runnable.sources import Source
from runnable.types import RunnableData, RunnableRef

__all__ = [
    "FlowActionData",
    "FlowData",
    "FlowMolecule",
    "FlowStepData",
    "flow_molecule",
    "flow_to_runnable",
]


class FlowActionData(BaseModel):
    """One action of a step: the runnable it runs, fixed inputs, input mappings."""

    model_config = ConfigDict(extra="forbid")

    ref: str
    id: str | None = None
    label: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    mappings: dict[str, str] = Field(default_factory=dict)

    @field_validator("ref", mode="before")
    @classmethod
    def _check_ref(cls, value: Any) -> Any:
        ref = RunnableRef.parse(value)
        if ref.kind is None:
            raise ValueError(f"an action ref needs its kind ('kind:id'), got {value!r}")
        return str(ref)


class FlowStepData(BaseModel):
    """Actions that run in parallel."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    label: str | None = None
    actions: list[FlowActionData] = Field(default_factory=list)

    @field_validator("actions", mode="before")
    @classmethod
    def _refs_as_actions(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"ref": a} if isinstance(a, str | RunnableRef) else a for a in value]
        return value


class FlowData(BaseModel):
    """A flow: its name and steps (see the module docstring)."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    version: int | str | None = None
    slug: str | None = None
    steps: list[FlowStepData] = Field(default_factory=list)

    @field_validator("steps", mode="before")
    @classmethod
    def _lists_as_steps(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"actions": step} if isinstance(step, list) else step for step in value]
        return value

    def to_flow(self) -> Flow:
        """The flow the runner runs (ids by position where none is given)."""
        steps = []
        for i, step in enumerate(self.steps):
            step_id = step.id or f"s{i}"
            actions = tuple(
                Action(
                    id=action.id or f"{step_id}a{j}",
                    ref=RunnableRef.parse(action.ref),
                    label=action.label,
                    inputs=action.inputs,
                    mappings=action.mappings,
                )
                for j, action in enumerate(step.actions)
            )
            steps.append(Step(id=step_id, label=step.label, actions=actions))
        return Flow(id=self.id, steps=tuple(steps))

    def action_id(self, step_index: int, action_index: int | None = None) -> str:
        """The id of step `step_index` (or of its action `action_index`); `FlowError`
        naming the flow's size when there is no such step or action."""
        flow = self.to_flow()
        if not 0 <= step_index < len(flow.steps):
            raise FlowError(f"flow {self.id!r} has {len(flow.steps)} step(s): no step {step_index}")
        step = flow.steps[step_index]
        if action_index is None:
            return step.id
        if not 0 <= action_index < len(step.actions):
            raise FlowError(
                f"step {step_index} of flow {self.id!r} has {len(step.actions)} action(s): "
                f"no action {action_index}"
            )
        return step.actions[action_index].id


def flow_to_runnable(flow: FlowData) -> RunnableData:
    """The flow as the bridge sees it: its steps' action refs in `configuration`."""
    return RunnableData(
        id=flow.id,
        kind="flow",
        name=flow.name,
        version=flow.version,
        slug=flow.slug,
        configuration={"steps": [[a.ref for a in step.actions] for step in flow.steps]},
    )


class FlowMolecule(SourceMolecule[FlowData]):
    """Flows over a source. Extra selector: `flow` (the runner's `Flow`, or None)."""

    def __init__(self, source: Source, **options: Any) -> None:
        super().__init__("flow", source, transform=FlowData.model_validate, **options)
        self.flow = self.selector("flow", self._read_flow)

    def _read_flow(self, get: Getter, key: str) -> Flow | None:
        data: FlowData | None = get(self.data(key))
        return None if data is None else data.to_flow()


def flow_molecule(source: Source, **options: Any) -> FlowMolecule:
    """The molecule of the flows in `source`."""
    return FlowMolecule(source, **options)
