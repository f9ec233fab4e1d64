"""A separate virtual environment with the oldest releases we support (those the published card lists).

Kept in a cache folder between runs; created on first use (about a minute with pip: torch==2.13.0 first,
so pip takes the CPU wheel on disk instead of a CUDA build).
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

OLD_RELEASES = ("sentence-transformers==3.0.1", "transformers==4.42.4")
TORCH = "torch==2.13.0"
_MARKER = "sitges-compat-ready.txt"


def compat_venv() -> Path:
    """The path of a venv with sentence-transformers 3.0.1 and transformers 4.42.4; created if missing."""
    root = Path(os.environ.get("SITGES_COMPAT_VENV", Path.home() / ".cache" / "sitges-retriever" / "venv-st-3.0.1"))
    python = root / "bin" / "python"
    wanted = "\n".join((TORCH, *OLD_RELEASES))
    marker = root / _MARKER
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    venv.EnvBuilder(clear=True, with_pip=True).create(root)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, TORCH], check=True)
    subprocess.run([*pip, *OLD_RELEASES], check=True)
    marker.write_text(wanted)
    return python


ENCODE_SCRIPT = r"""
import json, sys
import numpy as np
import sentence_transformers, transformers
from sentence_transformers import SentenceTransformer
folder, sentences_file, out = sys.argv[1:4]
model = SentenceTransformer(folder, device="cpu")
sentences = json.load(open(sentences_file, encoding="utf-8"))
np.save(out, model.encode(sentences, convert_to_numpy=True))
print(json.dumps({"sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
                  "repr": repr(model), "max_seq_length": model.max_seq_length,
                  "similarity_fn_name": model.similarity_fn_name}))
"""


def encode_with(python: str | Path, folder: Path, sentences: list[str], workdir: Path) -> tuple[object, dict]:
    """Encode `sentences` with the model folder in another interpreter; return (embeddings, facts)."""
    import json

    import numpy as np

    (workdir / "sentences.json").write_text(json.dumps(sentences, ensure_ascii=False), encoding="utf-8")
    out = workdir / f"embeddings-{Path(python).parent.parent.name}.npy"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    result = subprocess.run(
        [str(python), "-c", ENCODE_SCRIPT, str(folder), str(workdir / "sentences.json"), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"{python} could not load {folder}:\n{result.stderr[-4000:]}")
    return np.load(out), json.loads(result.stdout.strip().splitlines()[-1])


def current_python() -> str:
    return sys.executable
