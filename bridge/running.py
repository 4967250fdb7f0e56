"""Running a bridge runnable: load it into a store, check its inputs, call its kind.

`execute`/`stream` load the runnable into the store, check the inputs against its input
ports (a clear error naming each bad input, and no call made), then run it as a one-node
run of the graph runner, exactly as a chain node or a dataset row runs: one executor
protocol (`runnable.outcome`), one recorder (`runnable.tracking.RunRecorder`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.errors import (
    AmbiguousRunnableIdError,
    ExecutorNotAvailableError,
    InvalidInputsError,
    RunnableExecutionError,
    RunnableNotFoundError,
    UnknownRunnableIdError,
)
from bridge.registry import KindRegistry
from bridge.selectors import SelectorAtoms
from bridge.types import RefLike, RunnableType
from molecules import MoleculesError, Store
from runnable.chain import Chain, Node
from runnable.deadline import await_within, within_deadline
from runnable.errors import InputValidationError
from runnable.ids import new_id
from runnable.outcome import call_executor
from runnable.ports import validate_inputs
from runnable.runner import Chunk, GraphRun, NodeContext, run_graph
from runnable.runner.channel import EventCallback
from runnable.runner.events import Event
from runnable.runner.scheduler import Execute
from runnable.tracking import RunRecorder
from runnable.types import (
    ErrorInfo,
    ExecutionMetrics,
    ExecutionResult,
    ExecutionStatus,
    RunnableData,
    RunnableRef,
)

__all__ = ["BridgeRunner", "RunStream", "both_callbacks", "result_of"]


class BridgeRunner:
    """Loads and runs the runnables of one registry, reading ports through its atoms."""

    def __init__(self, registry: KindRegistry, atoms: SelectorAtoms) -> None:
        self.registry = registry
        self.atoms = atoms
        # Where every execution is recorded (create_default_bridge(run_store=...) sets it).
        self.recorder: RunRecorder | None = None

    async def resolve(self, ref: RefLike, *, store: Store) -> RunnableRef:
        """`ref` with its kind: a bare id is looked up in every kind (loading it there)."""
        parsed = self.registry.parse(ref)
        if parsed.kind is not None:
            return parsed
        kinds = self.registry.items()
        loads = [_try_load(store, t, parsed.id) for _, t in kinds]
        outcomes = await asyncio.gather(*loads)
        found = [kind for (kind, _), ok in zip(kinds, outcomes, strict=True) if ok]
        if len(found) > 1:
            raise AmbiguousRunnableIdError(parsed.id, found)
        if not found:
            raise UnknownRunnableIdError(parsed.id, [kind for kind, _ in kinds])
        return RunnableRef(found[0], parsed.id)

    async def load(self, ref: RefLike, *, store: Store) -> RunnableData:
        """Load the runnable (and what its ports need) into `store`; its RunnableData."""
        resolved = await self.resolve(ref, store=store)
        assert resolved.kind is not None
        t = self.registry.type(resolved.kind)
        try:
            await store.set(t.molecule.load, resolved.id)
        except MoleculesError as exc:
            raise RunnableNotFoundError(str(resolved), str(exc)) from exc
        if t.prepare is not None:
            await t.prepare(store, resolved.id)
        runnable: RunnableData | None = store.get(
            self.atoms.kind_atom("data", resolved.kind, resolved.id)
        )
        if runnable is None:
            raise RunnableNotFoundError(str(resolved), "its molecule has no data for it")
        return runnable

    def adopt(self, kind: str, entity: Any, *, store: Store) -> RunnableRef:
        """Put an entity held in hand into `store` as a new local entity of `kind`."""
        new_id: str = store.set(self.registry.type(kind).molecule.create, entity)
        return RunnableRef(self.registry.canonical(kind), new_id)

    async def prepare(
        self, target: Any, inputs: Mapping[str, Any] | None, store: Store | None, kind: str | None
    ) -> tuple[RunnableRef, RunnableData, dict[str, Any], RunnableType]:
        """Load `target` and check `inputs` against its ports: (ref, runnable, inputs, type)."""
        if isinstance(target, RunnableRef | str) or (isinstance(target, Mapping) and kind is None):
            store = store if store is not None else Store()
            ref = await self.resolve(target, store=store)
        else:
            # An entity held in hand runs from a store of its own: the caller's store (a
            # UI's) must not grow a new entity it did not ask for.
            store = Store()
            ref = self.adopt(kind or self.registry.kind_of(target), target, store=store)
        runnable = await self.load(ref, store=store)
        assert ref.kind is not None
        values = dict(inputs or {})
        ports = store.get(self.atoms.kind_atom("input_ports", ref.kind, ref.id))
        try:
            validate_inputs(ports, values)
        except InputValidationError as exc:
            raise InvalidInputsError(str(ref), exc.errors) from None
        t = self.registry.type(ref.kind)
        if t.execute is None:
            raise ExecutorNotAvailableError(ref.kind, "its RunnableType has no execute")
        return ref, runnable, values, t

    def node_executor(
        self,
        t: RunnableType,
        runnable: RunnableData,
        escaped: list[BaseException] | None = None,
        *,
        deadline: float | None = None,
    ) -> Execute:
        """The runner's `execute(node, inputs, ctx)` for one loaded runnable of kind `t`.

        It returns what the kind's executor returns (a value, an `ExecutionResult` or a
        stream): the runner interprets it (`runnable.outcome`), so exceptions keep their
        type for retries, and a stream's chunks, tokens and cost reach the run's events.
        A kind that cannot run (`NotImplementedError`) is also put in `escaped`, so that a
        single execution raises it rather than report it as a failed run. `deadline`
        bounds the whole call, stream included (`DeadlineExceededError` past it).
        """
        execute = t.execute
        if execute is None:
            raise ExecutorNotAvailableError(runnable.kind, "its RunnableType has no execute")
        recorder = self.recorder

        async def run(node: Node, inputs: Mapping[str, Any], ctx: NodeContext) -> Any:
            if recorder is not None:
                await recorder.started(ctx.run_id)  # the run row exists before the call
            what = f"{runnable.kind}:{runnable.id}"
            try:
                output = await await_within(
                    call_executor(execute, runnable, dict(inputs)), deadline, what
                )
            except NotImplementedError as exc:
                if escaped is not None:
                    escaped.append(exc)
                raise
            if deadline is not None and hasattr(output, "__anext__"):
                return within_deadline(output, deadline, what)
            return output

        return run

    def single_run(
        self,
        ref: RunnableRef,
        runnable: RunnableData,
        inputs: Mapping[str, Any],
        t: RunnableType,
        *,
        on_event: EventCallback | None = None,
        run_id: str | None = None,
        escaped: list[BaseException] | None = None,
    ) -> GraphRun:
        """One execution as a one-node run of the runner (recorded when there is a recorder)."""
        node = Node(id=ref.kind or "runnable", ref=ref)
        run_id = run_id or new_id()
        recorder = self.recorder
        if recorder is not None:
            recorder.expect(run_id, ref=ref, inputs=inputs, node_refs={node.id: ref}, name=str(ref))
        return run_graph(
            Chain(nodes=[node]),
            self.node_executor(t, runnable, escaped),
            testcase=inputs,
            run_id=run_id,
            on_event=both_callbacks(recorder.on_event if recorder else None, on_event),
        )

    async def execute(
        self,
        ref: Any,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Store | None = None,
        kind: str | None = None,
        on_chunk: Callable[[Any], Any] | None = None,
    ) -> ExecutionResult:
        """Run `ref` (or an entity held in hand, of `kind`) with `inputs`; an ExecutionResult."""
        resolved, runnable, values, t = await self.prepare(ref, inputs, store, kind)

        def on_event(event: Event) -> None:
            if on_chunk is not None and isinstance(event, Chunk):
                on_chunk(event.text)

        escaped: list[BaseException] = []
        run = self.single_run(resolved, runnable, values, t, on_event=on_event, escaped=escaped)
        await run.wait()
        if escaped:
            raise escaped[0]
        return result_of(run)

    def stream(
        self,
        ref: Any,
        inputs: Mapping[str, Any] | None = None,
        *,
        store: Store | None = None,
        kind: str | None = None,
    ) -> RunStream:
        """Run `ref` and yield its text chunks as they arrive; `.result` once it ends."""
        return RunStream(self, ref, inputs, store, kind)


class RunStream:
    """The chunks of one execution, as an async iterator; `result` once it has ended.

    A failed execution raises `RunnableExecutionError` (carrying its `ErrorInfo`) after
    the chunks so far; a non-streaming runnable yields its whole output as one chunk.
    Closing the iterator early (or cancelling its reader) cancels the execution.
    """

    def __init__(
        self,
        runner: BridgeRunner,
        ref: Any,
        inputs: Mapping[str, Any] | None,
        store: Store | None,
        kind: str | None,
    ) -> None:
        self.result: ExecutionResult | None = None
        self._chunks = self._read(runner, ref, inputs, store, kind)

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> Any:
        return await self._chunks.__anext__()

    async def aclose(self) -> None:
        """Stop reading: the execution is cancelled if it is still going."""
        await self._chunks.aclose()

    async def _read(
        self,
        runner: BridgeRunner,
        ref: Any,
        inputs: Mapping[str, Any] | None,
        store: Store | None,
        kind: str | None,
    ) -> AsyncGenerator[Any, None]:
        resolved, runnable, values, t = await runner.prepare(ref, inputs, store, kind)
        escaped: list[BaseException] = []
        run = runner.single_run(resolved, runnable, values, t, escaped=escaped)
        streamed = False
        try:
            async for event in run:
                if isinstance(event, Chunk):
                    streamed = True
                    yield event.text
        finally:
            await run.aclose()
        if escaped:
            raise escaped[0]
        self.result = result = result_of(run)
        if result.status is not ExecutionStatus.SUCCESS:
            error = result.error or ErrorInfo(message=result.status.value)
            raise RunnableExecutionError(str(resolved), error.message, error=error)
        if not streamed:
            yield result.output


def result_of(run: GraphRun) -> ExecutionResult:
    """The `ExecutionResult` of a finished one-node run."""
    (result,) = run.results.values() or [None]
    if result is None:  # cancelled before the node was reached
        return ExecutionResult(execution_id=run.run_id, status=ExecutionStatus.CANCELLED)
    finished = datetime.now(UTC)
    latency = result.latency_ms
    started = finished - timedelta(milliseconds=latency) if latency is not None else None
    metrics = result.metrics or ExecutionMetrics(latency_ms=latency)
    return ExecutionResult(
        execution_id=run.run_id,
        status=result.status,
        started_at=started,
        completed_at=finished,
        output=result.output,
        error=result.error,
        trace=result.trace,
        metrics=metrics,
    )


def both_callbacks(
    first: EventCallback | None, second: EventCallback | None
) -> EventCallback | None:
    """One event callback that calls both (or the one given)."""
    if first is None or second is None:
        return first or second

    def both(event: Event) -> None:
        first(event)
        second(event)

    return both


async def _try_load(store: Store, t: RunnableType, key: str) -> bool:
    try:
        return await store.set(t.molecule.load, key) is not None
    except MoleculesError:
        return False
