"""Runs started by the server, followed over GET, and the runs the run store keeps.

```
POST /runnables/{ref}/runs   {"inputs"}                                  -> {"run_id"}
POST /chains/runs            {"chain", "testcase" | "rows", "max_concurrency",
                              "row_concurrency"}                         -> {"run_id"}
GET  /runs/{id}/events       EventSource: chunk, node, row..., done (ids; Last-Event-ID)
POST /runs/{id}/cancel       stop a live run -> {"run_id", "status"}
GET  /runs?runnable_ref=&status=&parent_run_id=&limit=&offset=  -> {"items", "total"}
GET  /runs/{id}              the record's fields, output, tasks (and a dataset's children)
```

A run is checked before it starts (its ref, its inputs against the input ports, the
chain's plan): what is wrong is a 4xx and nothing runs. A runnable runs as a chain of
one node whose id is its ref, so every run has the same events and the same records.
A reconnect names the last event it has with the `Last-Event-ID` header (or `?after=`,
for a page that reopens a run); a client that asks after the end is answered 204, which
tells a browser's EventSource to stop reconnecting.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from statistics import fmean
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bridge.errors import InvalidInputsError
from bridge.server.context import MAX_PAGE, ServerContext, guard, load_ref, query_int
from bridge.server.eventstream import EventStreamResponse
from bridge.server.hub import LiveRun, RunEvent
from bridge.server.json import ApiError, read_json_body, to_json_data
from bridge.server.records import replay_events, run_detail, stored_error
from runnable.chain import Chain, Node
from runnable.errors import InputValidationError
from runnable.ports import validate_inputs
from runnable.runner import DatasetRun, GraphRun, RayDatasetRun
from runnable.tracking import RunStatus

__all__ = ["ChainRunsRequest", "RunRequest", "RunsApi", "dataset_output"]


class RunRequest(BaseModel):
    """The body of `POST /runnables/{ref}/runs`."""

    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] = Field(default_factory=dict)


class ChainRunsRequest(BaseModel):
    """The body of `POST /chains/runs`: a chain and one testcase, or rows (a dataset run)."""

    model_config = ConfigDict(extra="forbid")

    chain: Chain
    testcase: dict[str, Any] | None = None
    rows: list[dict[str, Any]] | None = Field(default=None, min_length=1)
    max_concurrency: int | None = Field(default=None, ge=1, le=64)
    row_concurrency: int | None = Field(default=None, ge=1, le=64)

    @model_validator(mode="after")
    def _one_input(self) -> ChainRunsRequest:
        if self.testcase is not None and self.rows is not None:
            raise ValueError("give either testcase (one run) or rows (a dataset run), not both")
        return self


class RunsApi:
    """The handlers of the run routes (see the module docstring)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def routes(self) -> list[Route]:
        """The routes of these handlers."""
        return [
            Route("/runnables/{ref}/runs", guard(self.start_runnable), methods=["POST"]),
            Route("/chains/runs", guard(self.start_chain), methods=["POST"]),
            Route("/runs", guard(self.list_runs), methods=["GET"]),
            Route("/runs/{run_id}", guard(self.get_run), methods=["GET"]),
            Route("/runs/{run_id}/events", guard(self.events), methods=["GET"]),
            Route("/runs/{run_id}/cancel", guard(self.cancel), methods=["POST"]),
        ]

    def _options(self, live: LiveRun) -> dict[str, Any]:
        options: dict[str, Any] = {
            **self.ctx.chain_options,
            "run_id": live.run_id,
            "on_event": live.on_event,
        }
        if self.ctx.recorder is not None:
            options["recorder"] = self.ctx.recorder
        return options

    async def _drain(self) -> None:
        if self.ctx.recorder is not None:
            await self.ctx.recorder.drain()

    # -- starting ----------------------------------------------------------------------

    async def start_runnable(self, request: Request) -> Response:
        """`POST /runnables/{ref}/runs`: start a run of one runnable; `{"run_id"}`."""
        body = RunRequest.model_validate(await read_json_body(request, default={}))
        session = self.ctx.session(request)
        ref = await load_ref(self.ctx, session, request.path_params["ref"])
        ports = session.store.get(self.ctx.bridge.selector("input_ports", ref))
        try:
            validate_inputs(ports, body.inputs)
        except InputValidationError as exc:
            raise InvalidInputsError(str(ref), exc.errors) from None
        node_id = str(ref)
        live = self.ctx.hub.new("runnable", node_id)
        options = self._options(live)
        if self.ctx.recorder is not None:
            self.ctx.recorder.expect(live.run_id, ref=ref)
        try:
            run = await self.ctx.bridge.run_chain(
                Chain(nodes=[Node(node_id, ref)]),
                store=session.store,
                testcase=body.inputs,
                node_inputs={node_id: body.inputs},
                **options,
            )
        except BaseException:
            self.ctx.hub.drop(live)
            raise

        def result() -> tuple[str, Any, Any]:
            return run.status.value, run.outputs.get(node_id), live.error

        self.ctx.hub.start(live, run, result, before_done=self._drain)
        return JSONResponse({"run_id": live.run_id}, status_code=201)

    async def start_chain(self, request: Request) -> Response:
        """`POST /chains/runs`: start a chain run, or a dataset run with `rows`; `{"run_id"}`."""
        session = self.ctx.session(request)
        body = ChainRunsRequest.model_validate(await read_json_body(request, default={}))
        live = self.ctx.hub.new("dataset" if body.rows is not None else "chain")
        options = self._options(live)
        if body.max_concurrency is not None:
            options["max_concurrency"] = body.max_concurrency
        try:
            handle: GraphRun | DatasetRun | RayDatasetRun
            if body.rows is not None:
                if body.row_concurrency is not None:
                    options["row_concurrency"] = body.row_concurrency
                handle = await self.ctx.bridge.run_dataset(
                    body.chain, body.rows, store=session.store, **options
                )
            else:
                handle = await self.ctx.bridge.run_chain(
                    body.chain, store=session.store, testcase=body.testcase, **options
                )
        except BaseException:
            self.ctx.hub.drop(live)
            raise
        if isinstance(handle, DatasetRun | RayDatasetRun):
            dataset = handle

            def result() -> tuple[str, Any, Any]:
                found = dataset.result
                return found.status.value, dataset_output(found.rows), live.error

        else:
            graph = handle

            def result() -> tuple[str, Any, Any]:
                return graph.status.value, graph.outputs, live.error

        self.ctx.hub.start(live, handle, result, before_done=self._drain)
        return JSONResponse({"run_id": live.run_id}, status_code=201)

    # -- following ---------------------------------------------------------------------

    async def events(self, request: Request) -> Response:
        """`GET /runs/{id}/events`: the run's events from where the client stands."""
        run_id: str = request.path_params["run_id"]
        after = _after(request)
        live = self.ctx.hub.get(run_id)
        source: AsyncGenerator[RunEvent, None]
        if live is not None:
            if live.done and after >= live.events[-1].index:
                return Response(status_code=204)
            source = _follow(live, after)
        else:
            store = self.ctx.run_store
            record = None if store is None else await store.get_run(run_id)
            if store is None or record is None:
                raise ApiError(404, f"no run {run_id!r}")
            replayed = [
                RunEvent.of(index, name, data)
                for index, (name, data) in enumerate(await replay_events(store, record))
            ]
            if after >= replayed[-1].index:
                return Response(status_code=204)
            source = _replay(replayed[after + 1 :])
        return EventStreamResponse(_sse(source), ping=self.ctx.ping)

    async def cancel(self, request: Request) -> Response:
        """`POST /runs/{id}/cancel`: stop a live run (its running nodes end cancelled)."""
        run_id: str = request.path_params["run_id"]
        live = self.ctx.hub.get(run_id)
        if live is None:
            raise ApiError(
                404, f"no live run {run_id!r} (a run ended long ago cannot be cancelled)"
            )
        if not live.cancel():
            raise ApiError(409, f"run {run_id!r} has already ended ({live.status})")
        return JSONResponse({"run_id": run_id, "status": "cancelling"})

    # -- the run store -----------------------------------------------------------------

    async def list_runs(self, request: Request) -> Response:
        """`GET /runs`: runs, newest first, filtered, with the total."""
        query = request.query_params
        filters: dict[str, Any] = {
            "runnable_ref": query.get("runnable_ref") or None,
            "parent_run_id": query.get("parent_run_id") or None,
            "status": _status(query.get("status")),
        }
        limit = query_int(query.get("limit"), "limit", 50, 1, MAX_PAGE)
        offset = query_int(query.get("offset"), "offset", 0, 0, None)
        store = self.ctx.run_store
        if store is None:
            # No run store: the runs this server holds in memory, newest first.
            found = [
                _live_detail(run)
                for run in reversed(self.ctx.hub.runs())
                if filters["runnable_ref"] in (None, run.runnable_ref)
                and filters["status"] in (None, run.status)
                and filters["parent_run_id"] is None
            ]
            page = found[offset : offset + limit]
            return JSONResponse({"items": page, "total": len(found)})
        records = await store.list_runs(limit=limit, offset=offset, **filters)
        total = await store.count_runs(**filters)
        items = [{**to_json_data(r), "error": stored_error(r.error)} for r in records]
        return JSONResponse({"items": items, "total": total})

    async def get_run(self, request: Request) -> Response:
        """`GET /runs/{id}`: the run's record, output and tasks."""
        run_id: str = request.path_params["run_id"]
        live = self.ctx.hub.get(run_id)
        record = None
        if self.ctx.run_store is not None:
            record = await self.ctx.run_store.get_run(run_id)
        if record is None:
            if live is None:
                raise ApiError(404, f"no run {run_id!r}")
            return JSONResponse(_live_detail(live))
        assert self.ctx.run_store is not None
        detail = await run_detail(self.ctx.run_store, record)
        if live is not None and live.done:
            detail["output"] = live.output
        return JSONResponse(detail)


def dataset_output(rows: Sequence[Any]) -> dict[str, Any]:
    """A dataset run's output: each row's status and outputs, and each node's mean score."""
    table: list[dict[str, Any]] = []
    scores: dict[str, list[float]] = {}
    for row in rows:
        if row is None:
            table.append({"status": "cancelled", "output": None})
            continue
        outputs = {node_id: result.output for node_id, result in row.results.items()}
        table.append({"status": row.status.value, "output": outputs, "run_id": row.run_id})
        for node_id, output in outputs.items():
            score = output.get("score") if isinstance(output, Mapping) else output
            if isinstance(score, int | float) and not isinstance(score, bool):
                scores.setdefault(node_id, []).append(float(score))
    means = {node_id: fmean(values) for node_id, values in scores.items()}
    return {"rows": table, "scores": means}


def _live_detail(live: LiveRun) -> dict[str, Any]:
    return {
        "id": live.run_id,
        "runnable_ref": live.runnable_ref,
        "status": live.status,
        "output": live.output,
        "error": live.error,
        "tasks": [],
    }


def _after(request: Request) -> int:
    given = request.headers.get("last-event-id") or request.query_params.get("after")
    if given is None or given == "":
        return -1
    try:
        value = int(given)
    except ValueError:
        detail = f"Last-Event-ID must be an event id (an integer), got {given!r}"
        raise ApiError(400, detail) from None
    if value < -1:
        raise ApiError(400, f"Last-Event-ID must be -1 or more, got {value}")
    return value


def _status(given: str | None) -> RunStatus | None:
    if not given:
        return None
    try:
        return RunStatus(given)
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise ApiError(400, f"status must be one of {names}, got {given!r}") from None


async def _follow(live: LiveRun, after: int) -> AsyncGenerator[RunEvent, None]:
    async for event in live.follow(after):
        yield event


async def _replay(events: Sequence[RunEvent]) -> AsyncGenerator[RunEvent, None]:
    for event in events:
        yield event


async def _sse(events: AsyncGenerator[RunEvent, None]) -> AsyncGenerator[bytes, None]:
    try:
        async for event in events:
            yield event.raw
    finally:
        await events.aclose()
