"""What training wrote, served by llama.cpp, is the model that was trained: the next-token
distribution of llama.cpp (base GGUF + exported adapter, or the exported whole model) matches the
PyTorch model's."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("peft")
pytestmark = pytest.mark.integration

PROMPT = "The history of lighthouses begins"


def _peft_model_with_a_visible_adapter(tmp_path: Path):
    import torch
    from peft import LoraConfig, get_peft_model

    from longwrite.model.checkpoints import load_gguf
    from longwrite.model.embedded import gguf_path

    model, tokenizer = load_gguf(gguf_path())
    modules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM", target_modules=modules)
    torch.manual_seed(0)  # LoRA A starts random
    model = get_peft_model(model, config)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:  # B starts at zero; make the adapter change the model's output
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.1)
    model.save_pretrained(tmp_path / "adapter")
    return model.eval(), tokenizer


def _torch_next_token_logprobs(model, tokenizer) -> list[float]:
    import torch

    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0, -1]
    return torch.log_softmax(logits, dim=-1).tolist()


def _llamacpp_next_token_logprobs(adapter: Path | None, model: Path | None = None) -> list[float]:
    import numpy as np
    from llama_cpp import Llama

    from longwrite.model.embedded import gguf_path

    llm = Llama(model_path=str(model or gguf_path()), lora_path=str(adapter) if adapter else None, n_ctx=256,
                logits_all=True, verbose=False, n_threads=2)  # fmt: skip
    tokens = llm.tokenize(PROMPT.encode(), add_bos=False)
    llm.eval(tokens)
    logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    logits -= logits.max()
    return (logits - np.log(np.exp(logits).sum())).tolist()


def test_a_gguf_adapter_gives_llamacpp_the_peft_model(tmp_path):
    from longwrite.training.export import lora_to_gguf

    model, tokenizer = _peft_model_with_a_visible_adapter(tmp_path)
    adapted = _torch_next_token_logprobs(model, tokenizer)
    with model.disable_adapter():
        plain = _torch_next_token_logprobs(model, tokenizer)
    config = model.base_model.model.config
    gguf = lora_to_gguf(tmp_path / "adapter", tmp_path / "adapter.gguf", config.num_attention_heads,
                        config.num_key_value_heads)  # fmt: skip
    served_plain, served = _llamacpp_next_token_logprobs(None), _llamacpp_next_token_logprobs(gguf)

    # llama.cpp runs the quantised weights (PEFT the de-quantised ones), so compare what the
    # adapter changes, on the tokens that matter for sampling
    top = sorted(range(len(adapted)), key=adapted.__getitem__)[-50:]
    change_peft = [adapted[i] - plain[i] for i in top]
    change_served = [served[i] - served_plain[i] for i in top]
    largest = max(abs(c) for c in change_peft)
    error = max(abs(a - b) for a, b in zip(change_peft, change_served, strict=True))
    assert largest > 1.0  # the adapter really changes the model
    # and llama.cpp applies it as PEFT does (without the rotary row order for q/k: about 0.6)
    assert error < 0.3 * largest
    assert gguf.stat().st_size < 25 * 2**20


def test_a_fully_fine_tuned_checkpoint_exports_as_the_model_llamacpp_serves(tmp_path):
    import torch

    from longwrite.model.checkpoints import load_gguf
    from longwrite.model.embedded import gguf_path
    from longwrite.training.export import full_to_gguf

    model, tokenizer = load_gguf(gguf_path())
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():  # a visible "fine-tuning" of every attention and MLP matrix
        for name, parameter in model.named_parameters():
            if name.endswith("proj.weight"):
                parameter.add_(torch.randn(parameter.shape, generator=generator) * parameter.std() * 0.3)
    model.save_pretrained(tmp_path / "checkpoint")
    trained = _torch_next_token_logprobs(model.eval(), tokenizer)

    gguf = full_to_gguf(tmp_path / "checkpoint", tmp_path / "model.gguf", gguf_path())
    served = _llamacpp_next_token_logprobs(None, model=gguf)
    served_base = _llamacpp_next_token_logprobs(None)

    top = sorted(range(len(trained)), key=trained.__getitem__)[-50:]
    error = max(abs(trained[i] - served[i]) for i in top)
    change = max(abs(trained[i] - served_base[i]) for i in top)
    assert change > 1.0  # the changed weights really change the model
    assert error < 0.1 * change  # and llama.cpp serves the changed model, not the shipped one
