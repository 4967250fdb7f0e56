"""`ChatProvider`: OpenAI-compatible chat completions over httpx, plain or streamed (SSE).

Retries (exponential backoff with jitter, honouring Retry-After) happen only before the
first byte of an answer: a stream that has started is never repeated. Cancelling the task
that awaits a call or iterates a stream closes the HTTP response at once. The API key
lives in a `SecretStr`; it is sent in the Authorization header and nowhere else, and is
scrubbed from any text the provider echoes back into an error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing, suppress
from typing import Any

import attrs
import httpx
from httpx_sse import EventSource, ServerSentEvent
from pydantic import SecretStr

from runnable.chat.completion import (
    ChatCompletion,
    ChatDelta,
    ChatDone,
    ChatStreamEvent,
    TokenUsage,
)
from runnable.chat.pricing import DEFAULT_PRICES, PriceLike, PriceTable
from runnable.chat.protocol import (
    MessageLike,
    StreamState,
    error_message,
    parse_answer,
    request_body,
)
from runnable.deadline import await_within, within_deadline
from runnable.errors import (
    ProviderConnectionError,
    ProviderError,
    ProviderInputError,
    ProviderRateLimitError,
    ProviderStatusError,
    ProviderStreamError,
    ProviderTimeoutError,
)
from runnable.redaction import install_log_redaction, redact_text
from runnable.retry import RetryPolicy, is_retryable_status, parse_retry_after

__all__ = ["ChatProvider", "MessageLike"]

logger = logging.getLogger(__name__)
# httpx logs every request's URL: whatever client sends one, no credential shows there.
install_log_redaction("httpx", "httpcore", __name__)

_REDACTED = "[redacted]"


def _describe_transport_error(exc: httpx.TransportError) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ChatProvider:
    """A client for one OpenAI-compatible chat completions endpoint (`base_url`/chat/completions).

    `timeout` bounds connecting and each wait for data (so a slow stream may run longer,
    but never stalls longer); `deadline` bounds a whole call (retries included), past
    which it raises `DeadlineExceededError`. `prices` (per-million-token USD by model) extend the
    built-in table; pass a `PriceTable` to replace it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | SecretStr | None = None,
        *,
        model: str | None = None,
        timeout: float | httpx.Timeout = 60.0,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        prices: PriceTable | Mapping[str, PriceLike] | None = None,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        stream_usage: bool = True,
        deadline: float | None = None,
    ) -> None:
        try:
            url = httpx.URL(base_url)
        except (httpx.InvalidURL, TypeError):
            url = httpx.URL()
        if url.scheme not in ("http", "https") or not url.host:
            raise ProviderInputError(
                f"base_url must be an http(s) URL, got {redact_text(str(base_url))!r}"
            )
        # Credentials in the URL become Basic auth sent with each request (as httpx would
        # do), and leave the URL: it shows in reprs, errors and httpx's own request log.
        self._url_auth: httpx.BasicAuth | None = None
        self._url_password = url.password
        if url.userinfo:
            self._url_auth = httpx.BasicAuth(url.username, url.password)
            base_url = str(url.copy_with(userinfo=b""))
        self.base_url = base_url.rstrip("/")
        self.model = model
        if isinstance(api_key, str):
            api_key = SecretStr(api_key)
        self._api_key = api_key
        self._timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        policy = retry or RetryPolicy()
        if max_retries is not None:
            policy = attrs.evolve(policy, max_retries=max_retries)
        self.retry = policy
        if isinstance(prices, PriceTable):
            self.prices = prices
        else:
            self.prices = DEFAULT_PRICES.merged(prices or {})
        self._headers = dict(headers or {})
        self._client = client
        self._owns_client = client is None
        self._stream_usage = stream_usage
        if deadline is not None and deadline <= 0:
            raise ProviderInputError(f"deadline must be positive seconds, got {deadline!r}")
        self.deadline = deadline

    @property
    def url(self) -> str:
        """The chat completions endpoint."""
        return f"{self.base_url}/chat/completions"

    def __repr__(self) -> str:
        key = "None" if self._api_key is None else repr(self._api_key)
        return f"ChatProvider(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    async def aclose(self) -> None:
        """Close the HTTP client if this provider made it."""
        if self._client is not None and self._owns_client:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> ChatProvider:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def complete(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> ChatCompletion:
        """Send `messages` and return the whole answer; `settings` go into the request body."""
        body = self._body(messages, model, settings, stream=False)
        return await await_within(self._complete(body), self.deadline, f"the call to {self.url}")

    async def _complete(self, body: bytes) -> ChatCompletion:
        started = time.perf_counter()
        response = await self._send(body)
        try:
            await response.aread()
        except httpx.TimeoutException:
            raise self._read_timeout() from None
        except httpx.TransportError as exc:
            message = f"the answer from {self.url} broke off: {_describe_transport_error(exc)}"
            raise ProviderConnectionError(self._redact(message)) from None
        finally:
            await response.aclose()
        elapsed_ms = (time.perf_counter() - started) * 1000
        return self._completion_from_payload(self._json(response), elapsed_ms)

    def stream(
        self, messages: Sequence[MessageLike], *, model: str | None = None, **settings: Any
    ) -> AsyncGenerator[ChatStreamEvent, None]:
        """Stream the answer: `ChatDelta` events in order, then one `ChatDone`.

        Bad messages or settings raise here, before anything is sent. Close the iterator
        (`contextlib.aclosing`) if you stop reading early; cancelling the reading task
        closes it too.
        """
        body = self._body(messages, model, settings, stream=True)
        return within_deadline(
            self._stream(body), self.deadline, f"the stream from {self.url}", final=_is_done
        )

    async def _stream(self, body: bytes) -> AsyncGenerator[ChatStreamEvent, None]:
        started = time.perf_counter()
        response = await self._send(body)
        try:
            if "text/event-stream" not in response.headers.get("content-type", ""):
                # A server that ignores `stream` answers in one piece.
                await response.aread()
                elapsed = (time.perf_counter() - started) * 1000
                completion = self._completion_from_payload(self._json(response), elapsed)
                if completion.text:
                    yield ChatDelta(text=completion.text)
                yield ChatDone(completion=completion)
                return
            async with aclosing(self._read_events(response, started)) as events:
                async for event in events:
                    yield event
        except httpx.TimeoutException:
            raise self._read_timeout() from None
        except httpx.TransportError as exc:
            message = f"the stream from {self.url} broke off: {_describe_transport_error(exc)}"
            raise ProviderStreamError(self._redact(message)) from None
        finally:
            await response.aclose()

    async def _read_events(
        self, response: httpx.Response, started: float
    ) -> AsyncGenerator[ChatStreamEvent, None]:
        state = StreamState()
        ttft_ms: float | None = None
        async with aclosing(EventSource(response).aiter_sse()) as events:
            async for sse in events:
                try:
                    text = state.feed(sse.data)
                except ProviderStreamError as exc:
                    raise ProviderStreamError(self._redact(f"{self.url}: {exc.message}")) from None
                if text:
                    if ttft_ms is None:
                        ttft_ms = (time.perf_counter() - started) * 1000
                    yield ChatDelta(text=text)
                if state.saw_done:
                    break
            if not state.finished:
                raise ProviderStreamError(
                    f"the stream from {self.url} ended before the model finished "
                    "(no finish_reason and no [DONE])"
                )
            latency_ms = (time.perf_counter() - started) * 1000
            completion = self._completion(
                state.text, state.model, state.finish_reason, state.usage, ttft_ms, latency_ms
            )
            completion.tool_calls = state.tool_calls
            yield ChatDone(completion=completion)
            if state.saw_done:
                # After ChatDone, so the call's end never waits on the server's body end
                # (a busy event loop makes each wait long); the deadline no longer applies.
                await _read_rest(events)

    def _body(
        self,
        messages: Sequence[MessageLike],
        model: str | None,
        settings: Mapping[str, Any],
        *,
        stream: bool,
    ) -> bytes:
        return request_body(
            messages, model or self.model, settings, stream=stream, stream_usage=self._stream_usage
        )

    def _request_headers(self) -> dict[str, str]:
        headers = {
            **self._headers,
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
        }
        if self._api_key is not None:
            headers["authorization"] = f"Bearer {self._api_key.get_secret_value()}"
        return headers

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        return self._client

    async def _send(self, body: bytes) -> httpx.Response:
        """POST `body`, retrying what is worth retrying; returns an open, successful response."""
        client = self._get_client()
        attempt = 0
        while True:
            request = client.build_request(
                "POST",
                self.url,
                content=body,
                headers=self._request_headers(),
                timeout=self._timeout,
            )
            retry_after: float | None = None
            error: ProviderError
            try:
                response = await client.send(request, stream=True, auth=self._url_auth)
            except httpx.TimeoutException as exc:
                # Only a request that never reached the server is safe to repeat here.
                retryable = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
                error = ProviderTimeoutError(
                    f"{self.url} did not answer in time ({type(exc).__name__}, "
                    f"timeout {self._timeout_for(exc)}s)"
                )
            except httpx.TransportError as exc:
                retryable = isinstance(exc, httpx.ConnectError)
                error = ProviderConnectionError(
                    self._redact(f"could not reach {self.url}: {_describe_transport_error(exc)}")
                )
            else:
                if response.status_code < 400:
                    return response
                readable = True
                try:
                    await response.aread()
                except (httpx.TimeoutException, httpx.TransportError):
                    readable = False  # the status alone must then explain the failure
                finally:
                    await response.aclose()
                retryable = is_retryable_status(response.status_code)
                retry_after = parse_retry_after(response.headers)
                note = ""
                if retry_after is not None and retry_after > self.retry.max_retry_after:
                    note = (
                        f" (asked to retry after {retry_after:.0f}s, more than "
                        f"max_retry_after={self.retry.max_retry_after:.0f}s)"
                    )
                error = self._status_error(response, attempt, note, readable=readable)
            delay = self.retry.delay(attempt, retry_after) if retryable else None
            if delay is None:
                raise error
            logger.info(
                "chat completion to %s failed (%s); retry %d of %d in %.2fs",
                self.url,
                error.message,
                attempt + 1,
                self.retry.max_retries,
                delay,
            )
            await asyncio.sleep(delay)
            attempt += 1

    def _status_error(
        self, response: httpx.Response, attempt: int, note: str = "", *, readable: bool = True
    ) -> ProviderStatusError:
        status = response.status_code
        detail, error_type = (
            error_message(response) if readable else ("the error body could not be read", None)
        )
        tries = f" (after {attempt + 1} attempts)" if attempt else ""
        message = self._redact(f"{self.url} answered HTTP {status}: {detail}{tries}{note}")
        cls = ProviderRateLimitError if status == 429 else ProviderStatusError
        return cls(
            message,
            status_code=status,
            error_type=error_type,
            retryable=is_retryable_status(status),
        )

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            message = (
                f"{self.url} answered with something that is not JSON: {response.text[:200]!r}"
            )
            raise ProviderError(self._redact(message), status_code=response.status_code) from None

    def _timeout_for(self, exc: httpx.TimeoutException) -> float | None:
        if isinstance(exc, httpx.ConnectTimeout):
            return self._timeout.connect
        if isinstance(exc, httpx.PoolTimeout):
            return self._timeout.pool
        if isinstance(exc, httpx.WriteTimeout):
            return self._timeout.write
        return self._timeout.read

    def _read_timeout(self) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{self.url} sent nothing for {self._timeout.read}s while answering (read timeout)"
        )

    def _redact(self, text: str) -> str:
        if self._api_key is not None:
            secret = self._api_key.get_secret_value()
            if secret:
                text = text.replace(secret, _REDACTED)
        if self._url_password:
            text = text.replace(self._url_password, _REDACTED)
        return redact_text(text)

    def _completion(
        self,
        text: str,
        model: str | None,
        finish_reason: str | None,
        usage: TokenUsage | None,
        ttft_ms: float | None,
        latency_ms: float,
    ) -> ChatCompletion:
        cost = None
        if usage is not None:
            cost = self.prices.cost(model, usage.tokens_in, usage.tokens_out)
        return ChatCompletion(
            text=text,
            model=model,
            finish_reason=finish_reason,
            usage=usage,
            cost=cost,
            ttft_ms=ttft_ms,
            latency_ms=latency_ms,
        )

    def _completion_from_payload(self, payload: Any, elapsed_ms: float) -> ChatCompletion:
        try:
            answer = parse_answer(payload)
        except ValueError as exc:
            raise ProviderError(self._redact(f"{self.url} gave an {exc}")) from None
        completion = self._completion(
            answer.text, answer.model, answer.finish_reason, answer.usage, elapsed_ms, elapsed_ms
        )
        completion.tool_calls = list(answer.tool_calls)
        return completion


# A response closed before its body ends takes its connection with it, and a new
# connection per call costs a TCP (and TLS) handshake; after `[DONE]` a server sends only
# the body's end, so it is read, within these bounds: a server that keeps talking is cut off.
_REST_SECONDS = 0.25
_REST_EVENTS = 16


async def _read_rest(events: AsyncIterator[ServerSentEvent]) -> None:
    """Read what follows `[DONE]` (normally nothing), so the connection can be kept alive."""
    with suppress(StopAsyncIteration, TimeoutError, httpx.TransportError):
        async with asyncio.timeout(_REST_SECONDS):
            for _ in range(_REST_EVENTS):
                await anext(events)


def _is_done(event: ChatStreamEvent) -> bool:
    return isinstance(event, ChatDone)
