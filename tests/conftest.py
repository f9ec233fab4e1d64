"""Shared fixtures: a tiny BERT base built at test time, and an isolated Hugging Face home.

The environment is set before anything imports huggingface_hub, which reads it once at import.
"""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

_HF_HOME = tempfile.mkdtemp(prefix="sitges-hf-home-")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


HUB_PORT = _free_port()
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_PORT}"
os.environ["HF_HOME"] = _HF_HOME
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_OFFLINE", None)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402

CATALAN_SENTENCES = [
    "Com puc donar-me d'alta al padró municipal d'habitants de Sitges?",
    "El certificat d'empadronament acredita el domicili on consta inscrita una persona.",
    "Per fer obres menors a casa cal presentar una comunicació prèvia a l'Ajuntament.",
    "Quina documentació necessito per demanar la llicència d'obres majors?",
    "Puc fraccionar el pagament de l'impost sobre béns immobles en diversos terminis?",
    "La deixalleria municipal accepta mobles vells, electrodomèstics i restes de poda.",
    "Els serveis socials atenen les famílies que necessiten ajuda per pagar el lloguer.",
    "Vull presentar una queixa per un soroll excessiu al meu carrer durant la nit.",
    "Per ocupar la via pública amb una terrassa cal una autorització de l'Ajuntament.",
    "Les subvencions per a entitats culturals es demanen a través de la seu electrònica.",
]


def build_tiny_base(folder: Path, *, hidden_size: int = 384, layers: int = 2, seed: int = 0) -> Path:
    """A 2-layer BERT with a WordPiece vocabulary trained on a few Catalan sentences."""
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(CATALAN_SENTENCES, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials))
    cls_id, sep_id = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=512)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(),
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=6 if hidden_size % 6 == 0 else 4,
        intermediate_size=128,
        max_position_embeddings=512,
    )
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    fast.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A transformers checkpoint folder (config, safetensors weights, tokenizer), 384-d."""
    return build_tiny_base(tmp_path_factory.mktemp("tiny-base"))


@pytest.fixture(scope="session")
def tiny_model(tiny_base):
    """BertModel + mean pooling built from the tiny base with the package's architecture."""
    from sitges_retriever import build_model

    return build_model(tiny_base)


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_model, tmp_path_factory) -> Path:
    """A complete classic-layout model folder written by `save_model`."""
    from sitges_retriever import save_model

    folder = tmp_path_factory.mktemp("tiny-model") / "model"
    save_model(tiny_model, folder)
    return folder


@pytest.fixture(scope="session")
def sentences() -> list[str]:
    return list(CATALAN_SENTENCES)


@pytest.fixture(scope="session")
def hub_server():
    """The loopback Hub (tests/hub_server.py) on HUB_PORT, which HF_ENDPOINT points at.

    Token "hf_test_write" (user "alice", org "org") writes in "alice" and "org"; "hf_test_read" (user "bob") only reads.
    """
    from hub_server import HubServer, Token

    tokens = {"hf_test_write": Token("write", "alice", ("org",)), "hf_test_read": Token("read", "bob")}
    with HubServer(HUB_PORT, tokens) as server:
        yield server


@pytest.fixture(scope="session")
def demo_slice(tmp_path_factory) -> Path:
    """A JSONL file of (positive, anchor) pairs: the first 8 procedures of the packaged demo set."""
    import json

    from sitges_retriever.corpus import load_procedures

    path = tmp_path_factory.mktemp("demo-slice") / "pairs.jsonl"
    rows = [{"positive": p.document, "anchor": q} for p in load_procedures()[:8] for q in p.questions]
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path
