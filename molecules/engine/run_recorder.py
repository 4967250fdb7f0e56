"""Run tracking for conversations: turns become tasks of a run in a `RunStore`.

A conversation is one run. Its first turn creates the run (before the model is called);
every turn adds a task (never rewriting an earlier one) whose streamed text is written in
the background at least every `flush_interval` seconds (`PartialTextWriter`). Between turns the
run is `pending` (waiting for the next message), during a turn `running`; it gets its
final status when the conversation ends (cleared, instance removed, `end_run`). A run
that ended (or was marked interrupted after a crash) is never reopened: continuing it
starts a new run whose `parent_run_id` is the old one. Tracking failures during a turn
are logged and never stop the turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from molecules.engine.events import InstanceEvent, RunLinked, TaskLinked
from molecules.engine.state import InstanceState, Totals, TurnOutcome
from runnable.chat.execution import TurnCompleted, TurnRequest
from runnable.ids import new_id
from runnable.messages import ChatMessage
from runnable.tracking import (
    REDACTED,
    PartialTextWriter,
    RunNotFoundError,
    RunRecord,
    RunStatus,
    RunStore,
)
from runnable.types import ErrorInfo

logger = logging.getLogger(__name__)

_FINAL: dict[TurnOutcome, RunStatus] = {
    "success": RunStatus.SUCCESS,
    "error": RunStatus.ERROR,
    "cancelled": RunStatus.CANCELLED,
}


def _dump(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    return [m.model_dump(mode="json", exclude_none=True) for m in messages]


class TurnRecorder:
    """Records one turn; `begin` must succeed before the model is called."""

    def __init__(
        self,
        store: RunStore,
        emit: Callable[[InstanceEvent], Any],
        *,
        flush_interval: float = 0.5,
    ) -> None:
        self.store = store
        self.emit = emit
        self.flush_interval = flush_interval
        self.run_id: str | None = None
        self.task_id: str | None = None
        self._writer: PartialTextWriter | None = None
        self._asked = 0

    async def begin(
        self, state: InstanceState, request: TurnRequest, *, task_id: str | None = None
    ) -> None:
        """Make sure the run exists and is running, and add this turn's task (`task_id`:
        the id the caller gave the turn; a new one otherwise).

        A new run and its first task are queued together (one batch, one wait).
        """
        store = self.store
        run_id = None if state.run_ended else state.run_id
        parent = state.run_id if state.run_ended else state.parent_run_id
        if run_id is not None:
            try:
                if not await store.update_run(run_id, status=RunStatus.RUNNING):
                    run_id, parent = None, run_id  # ended elsewhere: continue in a new run
            except RunNotFoundError:
                run_id = None
        await store.room()
        writes = []
        linked = None
        if run_id is None:
            run_id = new_id()
            name = state.run_name or _run_name(state)
            writes.append(
                store.queue_run(
                    id=run_id,
                    name=name,
                    runnable_ref=state.prompt_ref,
                    inputs=dict(state.variables.user),
                    messages=_dump(request.messages),
                    variables=request.variables,
                    settings=dict(state.settings),
                    parent_run_id=parent,
                )
            )
            linked = RunLinked(run_id, name, False, parent)
        resources = request.messages[-1].resources if request.messages else []
        task_id = task_id or new_id()
        writes.append(
            store.queue_task(
                run_id,
                id=task_id,
                node_id=f"turn-{state.turns_started}",
                name=f"turn {state.turns_started}",
                runnable_ref=state.prompt_ref,
                inputs={"user_input": request.user_input, "resources": resources},
                variables=request.variables,
                request=request.record(),
            )
        )
        for outcome in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(outcome, BaseException):
                raise outcome
        if linked is not None:
            self.emit(linked)
        self.run_id = run_id
        self.task_id = task_id
        self._asked = len(request.messages)
        self.emit(TaskLinked(request.turn_id, task_id))
        self._writer = PartialTextWriter(store, task_id, interval=self.flush_interval)

    def delta(self, text: str, elapsed_ms: float | None = None) -> None:
        """Buffer streamed text; a background writer saves it (see `PartialTextWriter`)."""
        if self._writer is not None:
            self._writer.add(text, elapsed_ms)

    async def completed(self, event: TurnCompleted, conversation: Sequence[ChatMessage]) -> None:
        """End the task with the reply, usage and cost; the run waits for the next turn."""
        response: dict[str, Any] = {
            "message": event.message.model_dump(mode="json", exclude_none=True),
            "text": event.completion.text,
            "model": event.completion.model,
            "finish_reason": event.completion.finish_reason,
        }
        # The tool calls and their answers, between the question and the reply.
        between = list(conversation[self._asked : -1])
        if between:
            response["tool_messages"] = _dump(between)
        await self._end(RunStatus.SUCCESS, conversation, response=response, usage=event.completion)

    async def failed(self, error: ErrorInfo, conversation: Sequence[ChatMessage]) -> None:
        """End the task with its error."""
        await self._end(RunStatus.ERROR, conversation, error=error)

    async def cancelled(self, partial: str, conversation: Sequence[ChatMessage]) -> None:
        """End the task as cancelled, keeping what was streamed."""
        await self._end(RunStatus.CANCELLED, conversation, response={"text": partial})

    async def _end(
        self, status: RunStatus, conversation: Sequence[ChatMessage], **fields: Any
    ) -> None:
        if self.task_id is None or self.run_id is None:
            return
        # The rest of the reply, the task's end and the run's update go in one batch.
        store = self.store
        writes = []
        try:
            if self._writer is not None:
                writer, self._writer = self._writer, None
                text, ttft_ms = writer.detach()
                if text:
                    writes.append(store.queue_append(self.task_id, text, ttft_ms=ttft_ms))
            writes.append(store.queue_finish_task(self.task_id, status, **fields))
            writes.append(
                store.queue_run_update(
                    self.run_id, status=RunStatus.PENDING, messages=_dump(conversation)
                )
            )
        except Exception as exc:
            logger.warning("run tracking could not end task %s: %s", self.task_id, exc)
        for outcome in await asyncio.gather(*writes, return_exceptions=True):
            if isinstance(outcome, Exception):
                logger.warning("run tracking could not end task %s: %s", self.task_id, outcome)


def _run_name(state: InstanceState) -> str | None:
    if state.prompt is not None and state.prompt.name:
        return state.prompt.name
    return state.prompt_ref


async def end_run(store: RunStore, state: InstanceState) -> bool:
    """Give the instance's run its final status from its last turn; False if it had ended."""
    if state.run_id is None or state.run_ended:
        return False
    outcome = state.last_turn.outcome if state.last_turn is not None else "cancelled"
    return await store.finish_run(state.run_id, _FINAL[outcome], messages=_dump(state.messages))


@attrs.frozen(slots=True)
class LoadedRun:
    """A recorded conversation, ready to continue."""

    run: RunRecord
    messages: tuple[ChatMessage, ...]
    totals: Totals
    turns: int
    user_variables: dict[str, Any]
    pending_input: str = ""
    """The question of a last turn that never got a reply (interrupted or failed)."""


async def load_run(store: RunStore, run_id: str) -> LoadedRun:
    """Read a run back from its tasks: the conversation up to the last turn that got a reply
    (a cancelled turn keeps what it streamed), totals, and the user's variables."""
    run = await store.get_run(run_id)
    if run is None:
        raise RunNotFoundError(run_id)
    tasks = await store.list_tasks(run_id)
    messages: tuple[ChatMessage, ...] = ()
    totals = Totals()
    pending_input = ""
    for task in tasks:
        asked = task.inputs.get("user_input")
        pending_input = asked if isinstance(asked, str) else ""
        request = task.request if isinstance(task.request, dict) else {}
        response = task.response if isinstance(task.response, dict) else {}
        sent = [ChatMessage.model_validate(m) for m in request.get("messages", [])]
        if task.status is RunStatus.SUCCESS and isinstance(response.get("message"), dict):
            between = [ChatMessage.model_validate(m) for m in response.get("tool_messages") or ()]
            messages = (*sent, *between, ChatMessage.model_validate(response["message"]))
            totals = attrs.evolve(
                totals,
                turns=totals.turns + 1,
                tokens_in=totals.tokens_in + (task.tokens_in or 0),
                tokens_out=totals.tokens_out + (task.tokens_out or 0),
                cost=totals.cost + (task.cost or 0.0),
                total_ms=totals.total_ms + (task.latency_ms or 0.0),
            )
            pending_input = ""
        elif task.status is RunStatus.CANCELLED and task.partial_text:
            messages = (*sent, ChatMessage(role="assistant", content=task.partial_text))
            totals = attrs.evolve(totals, cancelled=totals.cancelled + 1)
            pending_input = ""
        elif task.status is RunStatus.ERROR:
            totals = attrs.evolve(totals, failed=totals.failed + 1)
    user_variables = {
        name: variable.value
        for name, variable in run.variables.items()
        if variable.source == "user" and variable.value != REDACTED
    }
    return LoadedRun(run, messages, totals, len(tasks), user_variables, pending_input)
