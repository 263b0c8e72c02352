"""A tiny random-weight Llama checkpoint with a locally trained tokenizer, for tests only."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from models.errors import ModelError
from models.manifest import MANIFEST_NAME, ModelFile, ModelManifest
from models.store import build_manifest, hash_file, list_source_files

log = logging.getLogger(__name__)

BOS, EOT, PAD = "<|begin_of_text|>", "<|eot_id|>", "<|pad|>"
HEADER_START, HEADER_END = "<|start_header_id|>", "<|end_header_id|>"
SPECIAL_TOKENS = (BOS, EOT, HEADER_START, HEADER_END, PAD, "<|end_of_text|>")
VOCAB_SIZE = 1024
CONTEXT_LENGTH = 2048

# Llama-3 layout: each message is a header, a blank line, the content and <|eot_id|>.
CHAT_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
    " + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}"
)

SUPPORT_CORPUS = (
    "Thank you for contacting the support desk. We are sorry to hear that you cannot sign in "
    "to your account. Please reset your password from the login page and follow the link in "
    "the email we send you. The link expires after twenty minutes.",
    "Your invoice for March was charged twice because the payment was retried after a timeout. "
    "We have refunded the duplicate charge; the refund appears on your statement within five "
    "business days. Reply to this ticket if it does not.",
    "To export your reports, open Settings, choose Data, and select Export. The export is "
    "delivered as a CSV file. Large exports are prepared in the background and we notify you "
    "by email when the download is ready.",
    "The mobile application crashes on start when the device has less than one hundred "
    "megabytes of free storage. Free some space, update the application to the latest "
    "version, and restart your phone. If the problem continues, send us the crash report.",
    "Two-factor authentication protects your account with a code from your authenticator app. "
    "If you lost your phone, use one of the recovery codes you saved when you enabled it, or "
    "ask your administrator to reset the second factor for you.",
    "Our service level agreement promises a first response within four hours for urgent "
    "tickets and within one business day for normal tickets. Escalated tickets are reviewed "
    "by a senior agent, who contacts you directly.",
    "You can change your subscription plan at any time. Upgrades take effect immediately and "
    "are prorated; downgrades take effect at the end of the current billing period. Cancelled "
    "accounts keep read-only access for thirty days.",
    "We could not deliver your order because the shipping address was incomplete. Please "
    "confirm the street, the postal code and a phone number, and we will send the parcel "
    "again at no extra cost. Tracking numbers are emailed when the parcel leaves our warehouse.",
    "The integration with your ticketing system uses an API token. Tokens can be rotated from "
    "the developer console; the old token stops working after one hour. Webhooks are signed, "
    "and you should verify the signature before trusting the payload.",
    "Hello, I am writing because the dashboard shows no data since yesterday. I already "
    "cleared the browser cache and tried another browser. Could you please check whether "
    "something is wrong on your side? Kind regards, the operations team.",
    "Under the data protection regulation you may request a copy of your personal data or ask "
    "us to erase it. Submit the request through the privacy form; we verify your identity and "
    "complete erasure within thirty days, except records we must keep by law.",
    "Scheduled maintenance happens every second Sunday between midnight and four in the "
    "morning, Central European Time. During the window the service may be unavailable for a "
    "few minutes. Announcements are published on the status page one week in advance.",
    "Warranty claims require the serial number, the purchase receipt and a short description "
    "of the fault. Hardware replaced under warranty is collected by courier; a loan device is "
    "available for customers with a premium maintenance contract.",
)
PRODUCTS = ("dashboard", "mobile app", "billing portal", "API", "printer", "laptop", "router")
PROBLEMS = ("is slow", "shows an error", "does not start", "logs me out", "lost my settings")


def get_training_texts() -> list[str]:
    """The built-in support-desk corpus plus short generated ticket lines."""
    lines = [
        f"My {product} {problem} since the last update."
        for product in PRODUCTS
        for problem in PROBLEMS
    ]
    return [*SUPPORT_CORPUS, *lines]


def _train_tokenizer() -> Any:
    """A byte-level BPE tokenizer trained on the built-in corpus, as a transformers tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        min_frequency=1,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(get_training_texts(), trainer=trainer)
    bos_id = tokenizer.token_to_id(BOS)
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)]
    )
    return PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]  # untyped in transformers
        tokenizer_object=tokenizer,
        bos_token=BOS,
        eos_token=EOT,
        pad_token=PAD,
        model_max_length=CONTEXT_LENGTH,
        chat_template=CHAT_TEMPLATE,
    )


def _build_model(tokenizer: Any, seed: int) -> Any:
    """A 2-layer Llama with grouped-query attention and weights drawn from `seed`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    ids = {
        name: tokenizer.convert_tokens_to_ids(tok)
        for name, tok in (("bos", BOS), ("eos", EOT), ("pad", PAD))
    }
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=CONTEXT_LENGTH,
        bos_token_id=ids["bos"],
        eos_token_id=ids["eos"],
        pad_token_id=ids["pad"],
        dtype="float32",
    )
    # Seed a private generator state so the weights depend on `seed` alone.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.generation_config.bos_token_id = ids["bos"]
    model.generation_config.eos_token_id = ids["eos"]
    model.generation_config.pad_token_id = ids["pad"]
    return model


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ModelError(
            f"{out} already exists and is not an empty folder",
            remedy="pass a new or empty --out folder (make-tiny never overwrites files)",
        )


def build_tiny_model(out: Path, model_id: str = "tiny-llama", seed: int = 0) -> ModelManifest:
    """Write a tiny random Llama checkpoint and its manifest to `out` (new or empty)."""
    _check_out(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.partial-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir()
        manifest = _write_checkpoint(staging, model_id, seed)
        if out.exists():
            out.rmdir()
        os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log.info("tiny model written", extra={"model_id": model_id, "seed": seed, "path": str(out)})
    return manifest


def _write_checkpoint(folder: Path, model_id: str, seed: int) -> ModelManifest:
    """Tokenizer, weights, configs and manifest.yaml into `folder`."""
    tokenizer = _train_tokenizer()
    model = _build_model(tokenizer, seed)
    tokenizer.save_pretrained(folder)
    model.save_pretrained(folder)
    files = [
        ModelFile(path=rel, size=(folder / rel).stat().st_size, sha256=hash_file(folder / rel))
        for rel in list_source_files(folder)
    ]
    describe = {
        "task": "chat",
        "family": "llama",
        "parameters": sum(p.numel() for p in model.parameters()),
        "dtype": "float32",
        "context_length": CONTEXT_LENGTH,
        "chat_template": CHAT_TEMPLATE,
        "licence": "Apache-2.0 (generated)",
        "source": f"airlock models make-tiny (random weights, seed {seed})",
        "for_answers": False,
    }
    manifest = build_manifest(folder, model_id, files, describe)
    (folder / MANIFEST_NAME).write_text(manifest.to_yaml(), encoding="utf-8")
    return manifest
