"""A registry model run locally with transformers (CPU, or a GPU when one is present)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, set_seed
from transformers.generation.stopping_criteria import StoppingCriteria, StoppingCriteriaList
from transformers.generation.streamers import BaseStreamer

from models.manifest import ModelManifest
from models.store import ModelStore
from serving.errors import BadChatRequestError, ServingError
from serving.stopping import StopScanner
from serving.types import ChatChunk, ChatRequest, EngineHealth, FinishReason, Usage

log = logging.getLogger(__name__)

_DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


class _QueueStreamer(BaseStreamer):
    """Receives token ids on the generation thread; hands decoded text to the event loop."""

    def __init__(self, tokenizer: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.tokenizer = tokenizer
        self.loop = loop
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.generated = 0
        self.error: Exception | None = None
        self._prompt_seen = False
        self._ids: list[int] = []
        self._sent = 0

    def put(self, value: torch.Tensor) -> None:
        """Called by generate(): first with the prompt, then once per new token."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        self._ids.extend(value.reshape(-1).tolist())
        self.generated += int(value.numel())
        text = self.tokenizer.decode(self._ids, skip_special_tokens=True)
        if text.endswith("\ufffd"):  # half of a multi-byte character: wait for the rest
            return
        piece, self._sent = text[self._sent :], len(text)
        if piece:
            self._send(piece)

    def end(self) -> None:
        """Called by generate() when it finishes."""
        self._send(None)

    def _send(self, item: str | None) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop closed: only allowed once the consumer went away
            if not self.cancelled.is_set():
                raise


class _Cancelled(StoppingCriteria):
    """Stops generation when the consumer went away or a stop sequence appeared."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> Any:
        """One flag per sequence of the batch."""
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


class TransformersEngine:
    """Streams tokens from a verified registry model; one generation at a time per engine."""

    def __init__(self, name: str, manifest: ModelManifest, folder: Path) -> None:
        self.name = name
        self.manifest = manifest
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        dtype = _DTYPES.get(manifest.dtype or "float32", torch.float32)
        if self.device == "cpu" and dtype == torch.float16:
            dtype = torch.float32  # half precision matmuls are slow or missing on CPU
        loaded: Any = AutoModelForCausalLM.from_pretrained(
            str(folder), local_files_only=True, dtype=dtype
        )  # from_pretrained returns the model in eval mode
        self.model: Any = loaded.to(self.device)
        self.context_length = manifest.context_length or 2048
        self._lock = threading.Lock()

    def encode(self, request: ChatRequest) -> list[int]:
        """Prompt token ids: the chat template for messages, plain encoding for a prompt."""
        if request.prompt is not None:
            ids: list[int] = self.tokenizer.encode(request.prompt)
            return ids
        if not self.tokenizer.chat_template:
            raise BadChatRequestError(
                f"model {self.manifest.id!r} has no chat template", remedy="use /v1/completions"
            )
        messages = [m.model_dump() for m in request.messages]
        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=False
        )
        return list(encoded)

    def check_length(self, prompt_tokens: int, max_tokens: int) -> None:
        """Refuse a request longer than the context, with vLLM's wording."""
        if prompt_tokens + max_tokens > self.context_length:
            raise BadChatRequestError(
                f"This model's maximum context length is {self.context_length} tokens. However, "
                f"you requested {prompt_tokens + max_tokens} tokens ({prompt_tokens} in the "
                f"messages, {max_tokens} in the completion). Please reduce the length of the "
                "messages or completion.",
                param="messages",
            )

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[ChatChunk]:
        """Generate on a worker thread and stream its text as it comes."""
        ids = self.encode(request)
        self.check_length(len(ids), request.max_tokens)
        streamer = _QueueStreamer(self.tokenizer, asyncio.get_running_loop())
        worker = threading.Thread(
            target=self._generate, args=(ids, request, streamer), daemon=True, name=self.name
        )
        worker.start()
        scanner = StopScanner(request.stop)
        try:
            while (piece := await streamer.queue.get()) is not None:
                out = scanner.feed(piece)
                if out:
                    yield ChatChunk(text=out, engine=self.name, model=self.manifest.id)
                if scanner.stopped:
                    streamer.cancelled.set()
                    break
        finally:
            streamer.cancelled.set()
        if streamer.error is not None:
            raise ServingError(
                f"engine {self.name!r} failed while generating ({type(streamer.error).__name__})",
                remedy="see the server log",
            )
        finish: FinishReason = "stop"
        if not scanner.stopped and streamer.generated >= request.max_tokens:
            finish = "length"
        usage = Usage(prompt_tokens=len(ids), completion_tokens=streamer.generated)
        yield ChatChunk(
            text=scanner.flush(),
            finish_reason=finish,
            usage=usage,
            engine=self.name,
            model=self.manifest.id,
        )

    def _generate(self, ids: list[int], request: ChatRequest, streamer: _QueueStreamer) -> None:
        sampling = request.temperature > 0
        kwargs: dict[str, Any] = {
            "max_new_tokens": request.max_tokens,
            "do_sample": sampling,
            "streamer": streamer,
            "stopping_criteria": StoppingCriteriaList([_Cancelled(streamer.cancelled)]),
            "pad_token_id": self.tokenizer.pad_token_id or self.tokenizer.eos_token_id,
        }
        if sampling:
            kwargs.update(temperature=request.temperature, top_p=request.top_p)
        try:
            with self._lock, torch.inference_mode():
                if request.seed is not None:
                    set_seed(request.seed)
                self.model.generate(torch.tensor([ids], device=self.device), **kwargs)
        except Exception as exc:  # the worker thread's edge: hand the failure to the stream
            log.exception("generation failed", extra={"engine": self.name})
            streamer.error = exc
            streamer.end()

    async def health(self) -> EngineHealth:
        """Loaded models are ready."""
        return EngineHealth(
            name=self.name,
            ok=True,
            model=self.manifest.id,
            for_answers=self.manifest.for_answers,
        )


def load_transformers_engine(
    name: str, store: ModelStore, model_id: str, threads: int | None = None
) -> TransformersEngine:
    """Verify the model's files, then load it; a changed file refuses to load."""
    manifest, folder = store.load_verified(model_id)
    if manifest.task != "chat":
        raise ServingError(
            f"model {model_id!r} is a {manifest.task} model, not a chat model",
            remedy="pass a chat model id",
        )
    if threads is not None:
        torch.set_num_threads(threads)
    return TransformersEngine(name, manifest, folder)
