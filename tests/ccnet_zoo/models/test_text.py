"""The built-in tokenizer and text encoder (CLIP semantics for ids; rebuild from checkpoint metadata)."""

from __future__ import annotations

import pytest
import torch

from ccnet_zoo.models.errors import ConfigError
from ccnet_zoo.models.text import BuiltinTextEncoder, WordTokenizer


def test_tokenizer_vocabulary_ignores_prompt_order() -> None:
    a = WordTokenizer.from_prompts(["MRI of a breast.", "Siemens 1.5T"], 8)
    b = WordTokenizer.from_prompts(["Siemens 1.5T", "MRI of a breast."], 8)
    assert a.vocab == b.vocab
    ids = a(["mri of a BREAST.", ""])
    assert ids.shape == (2, 8) and ids.dtype == torch.long
    assert ids[0, 0] == a.bos and ids[0, 6] == a.eos  # 5 words + bos, then end/padding
    assert ids[1].tolist() == [a.bos] + [a.eos] * 7  # the empty prompt, as CC-Net's dropout


def test_tokenizer_truncates_and_maps_unknown_words() -> None:
    tok = WordTokenizer.from_prompts(["one two three"], 4)
    ids = tok(["one zebra two three"])[0].tolist()
    assert ids == [tok.bos, tok.index["one"], tok.unk, tok.eos]


def test_tokenizer_validates() -> None:
    with pytest.raises(ConfigError, match="start with"):
        WordTokenizer(["a", "b"], 4)
    with pytest.raises(ConfigError, match="max_length"):
        WordTokenizer.from_prompts(["a"], 1)


def test_encoder_round_trips_through_metadata() -> None:
    torch.manual_seed(0)
    enc = BuiltinTextEncoder(WordTokenizer.from_prompts(["a b c", "d e"], 6), hidden_size=16, layers=1, heads=2)
    assert not any(p.requires_grad for p in enc.parameters())  # frozen unless trainable
    again = BuiltinTextEncoder.from_metadata(enc.metadata())
    again.load_state_dict(enc.state_dict())
    prompts = ["a b c", "d e", ""]
    out = enc.encode(prompts)
    assert out.shape == (3, 6, 16)
    assert torch.equal(out, again.encode(prompts))
    assert not torch.allclose(out[0], out[1])


def test_trainable_encoder_has_gradients() -> None:
    enc = BuiltinTextEncoder(WordTokenizer.from_prompts(["a b"], 4), hidden_size=8, heads=2, trainable=True)
    enc.encode(["a b"]).sum().backward()
    assert enc.token.weight.grad is not None


def test_heads_must_divide_hidden() -> None:
    with pytest.raises(ConfigError, match="divisible"):
        BuiltinTextEncoder(WordTokenizer.from_prompts(["a"], 4), hidden_size=10, heads=3)
