"""Make a tiny Qwen2-style chat model for the real vLLM engine to serve: python make_tiny_model.py DIR

Why: no machine of this project (developer or CI) can reach a model hub, yet the feedback path
must be tested against the real vLLM engine (its scheduler, xgrammar structured outputs, prefix
cache, streaming usage, /metrics). The engine does not care whether the weights are any good,
so the model is made here: a Qwen2 architecture (one vLLM supports natively on the CPU) with
random weights, and a byte-level BPE tokenizer trained on local text (Python's own standard
library sources). Its answers are gibberish; tests assert the path, never the wording.

Run it with the interpreter of vLLM's virtualenv (scripts/vllm.sh model does), which already
has torch, transformers and tokenizers. Deterministic on a given machine: seeds are fixed and
the training text is read in sorted order. About 5 seconds; ~5 M parameters, ~11 MB.
"""

from __future__ import annotations

import json
import sys
import sysconfig
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    AutoTokenizer,
    GenerationConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen2ForCausalLM,
)

SEED = 0
VOCAB_SIZE = 8192
# The engine is started with --max-model-len 4096 by default; the model allows more so that a
# caller may ask for a longer context without remaking it.
MAX_POSITIONS = 32768
# Enough text for 8k merges in a couple of seconds.
TRAINING_BYTES = 8_000_000
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

# ChatML, as Qwen's own models use it; string content only (the platform sends no images).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def training_text() -> list[str]:
    """Python's standard library sources, sorted so the vocabulary is the same on every run."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    total = 0
    for path in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        texts.append(text)
        total += len(text)
        if total >= TRAINING_BYTES:
            break
    return texts


def make_tokenizer() -> Tokenizer:
    """Byte-level BPE (GPT-2/Qwen style): any text, in any language, encodes without <unk>."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=[ENDOFTEXT, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(training_text(), trainer=trainer)
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, out: Path) -> None:
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=IM_END,
        pad_token=ENDOFTEXT,
        model_max_length=MAX_POSITIONS,
        clean_up_tokenization_spaces=False,
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    # Recent transformers write the template to chat_template.jinja; keep it in
    # tokenizer_config.json, the one place every reader (vLLM, older transformers) looks.
    config_path = out / "tokenizer_config.json"
    config = json.loads(config_path.read_text())
    config["chat_template"] = CHAT_TEMPLATE
    # The class name every transformers version knows (5.x writes its own new name).
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")
    (out / "chat_template.jinja").unlink(missing_ok=True)


def save_model(out: Path, vocab_size: int, eos_id: int, pad_id: int) -> int:
    config = Qwen2Config(
        vocab_size=vocab_size,
        hidden_size=256,
        intermediate_size=768,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=MAX_POSITIONS,
        tie_word_embeddings=True,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
        dtype="bfloat16",
    )
    torch.manual_seed(SEED)
    model = Qwen2ForCausalLM(config).to(torch.bfloat16)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id)
    model.save_pretrained(out, safe_serialization=True)
    return sum(p.numel() for p in model.parameters())


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = make_tokenizer()
    save_tokenizer(tokenizer, out)
    eos_id, pad_id = tokenizer.token_to_id(IM_END), tokenizer.token_to_id(ENDOFTEXT)
    # Rounded up to a multiple of 64, as real checkpoints do, for aligned embedding matrices.
    vocab_size = (tokenizer.get_vocab_size() + 63) // 64 * 64
    params = save_model(out, vocab_size, eos_id, pad_id)
    # Fail here rather than in the server: what was saved must load, and its template render.
    prompt = AutoTokenizer.from_pretrained(out).apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", prompt
    print(f"{params / 1e6:.1f} M parameters, vocabulary {tokenizer.get_vocab_size()}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_tiny_model.py OUTPUT_DIR")
    main(Path(sys.argv[1]))
