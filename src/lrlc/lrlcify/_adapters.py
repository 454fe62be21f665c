"""Convolution classes whose forward is a plain convolution under another padding rule, and the
`padding` argument of `LowRankLocallyConnected2d` that reproduces it.

timm's `Conv2dSame` (the `tf_*` models) pads each input the way TensorFlow's 'SAME' does,
asymmetrically where the kernel and stride ask for it; the LRLC layer's ``padding="same"``
follows the same rule (README), so such a convolution converts exactly. Other subclasses with
a forward of their own are refused: what they compute is not known here. `register_padding_rule`
adds a class.
"""

from __future__ import annotations

from typing import Any

from torch import nn

# "module.QualifiedName" of the class -> the LRLC layer's padding argument
PADDING_RULES: dict[str, Any] = {
    "timm.layers.conv2d_same.Conv2dSame": "same",
    "timm.models.layers.conv2d_same.Conv2dSame": "same",  # timm < 0.9
}


def _key(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_padding_rule(cls: type, padding: Any) -> None:
    """Let `lrlcify` convert convolutions of class `cls` (a subclass of `nn.Conv2d` whose
    forward is a convolution with `padding`, in `LowRankLocallyConnected2d`'s terms)."""
    if not (isinstance(cls, type) and issubclass(cls, nn.Conv2d)):
        raise ValueError(f"register_padding_rule needs a subclass of nn.Conv2d, got {cls!r}")
    PADDING_RULES[_key(cls)] = padding


def conv_forward_padding(module: nn.Conv2d) -> Any:
    """The padding an LRLC layer needs to compute what `module` computes, or None when its
    class's forward is not known to be a plain convolution."""
    cls = type(module)
    if cls.forward is nn.Conv2d.forward and cls._conv_forward is nn.Conv2d._conv_forward:
        return module.padding
    return PADDING_RULES.get(_key(cls))
