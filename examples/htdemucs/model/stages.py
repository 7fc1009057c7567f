"""HTDemucs (demucs 4.1.0) cut into the three stages the CoreML port runs.

HTDemucsCoreML computes the STFT and the inverse STFT in Swift (vDSP) and runs one CoreML
model in between: ``spectrogram`` [1, 4, 2048, 336] and ``raw_audio`` [1, 2, 343980] in,
the frequency branch [1, S, 4, 2048, 336] and the time branch [1, S, 2, 343980] out. The
three modules here are that cut, built around a ``demucs.htdemucs.HTDemucs`` instance:

* :class:`Stft` - the model's padded, normalised STFT with the complex axis folded into the
  channels (``HTDemucs._spec`` then ``_magnitude``);
* :class:`Separate` - everything between: input normalisation, both encoders, the cross
  transformer, both decoders and the de-normalisation of each branch;
* :class:`Istft` - the complex spectrogram back from the channels, the inverse STFT and the
  sum ``time + istft(freq)``.

``Istft()(Separate(m)(Stft()(x), x))`` equals ``m(x)`` for a segment-long ``x``.
:class:`Float16` runs a module in half precision with float32 inputs and float16 outputs,
as a CoreML conversion of the model computes and returns by default.
"""

from __future__ import annotations

import contextlib
from fractions import Fraction

import torch
from demucs import transformer
from demucs.htdemucs import HTDemucs
from torch import nn

SAMPLE_RATE = 44100
# The pretrained htdemucs models' segment: 7.8 s, 343,980 samples at 44.1 kHz.
SEGMENT = Fraction(39, 5)
SOURCES = {
    4: ["drums", "bass", "other", "vocals"],
    6: ["drums", "bass", "other", "vocals", "guitar", "piano"],
}
# Constructor arguments of the released htdemucs (26.9 M parameters for 4 sources) and of
# a reduced model with the same geometry (same STFT, segment and shapes) for quick checks.
SIZES = {
    "real": {},
    "small": {"channels": 8, "t_layers": 1, "t_heads": 4, "dconv_comp": 4},
}


def build_model(sources: int = 6, size: str = "real", seed: int = 0) -> HTDemucs:
    """A seeded, randomly initialised HTDemucs in eval mode."""
    torch.manual_seed(seed)
    model = HTDemucs(
        sources=SOURCES[sources],
        samplerate=SAMPLE_RATE,
        segment=SEGMENT,
        **SIZES[size],
    )
    return model.eval()


class _Spectral(nn.Module):
    """The attributes ``HTDemucs``'s spectral helpers read, without the network."""

    def __init__(self, nfft: int = 4096):
        super().__init__()
        self.nfft = nfft
        self.hop_length = nfft // 4
        self.cac = True
        self.wiener_iters = 0


class Stft(_Spectral):
    """audio [1, C, L] -> spectrogram [1, 2C, nfft/2, ceil(L/hop)] (real and imaginary as channels)."""

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return HTDemucs._magnitude(self, HTDemucs._spec(self, audio))


class Istft(_Spectral):
    """(freq [1, S, 2C, F, T], time [1, S, C, L]) -> sources [1, S, C, L] = time + istft(freq)."""

    def forward(self, freq: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
        zout = HTDemucs._mask(self, None, freq.float())
        return time.float() + HTDemucs._ispec(self, zout, time.shape[-1])


class Separate(nn.Module):
    """(spectrogram, raw_audio) -> (frequency branch, time branch): HTDemucs minus its STFTs."""

    def __init__(self, model: HTDemucs):
        super().__init__()
        self.model = model

    def forward(self, spectrogram: torch.Tensor, raw_audio: torch.Tensor):
        m = self.model
        x = spectrogram
        batch, _, freqs, frames = x.shape
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        x = (x - mean) / (1e-5 + std)
        meant = raw_audio.mean(dim=(1, 2), keepdim=True)
        stdt = raw_audio.std(dim=(1, 2), keepdim=True)
        xt = (raw_audio - meant) / (1e-5 + stdt)

        # Encoders: the time branch runs beside the frequency branch until its last
        # (empty) layer, whose output is injected into the frequency encoder.
        skips, skips_t, lengths, lengths_t = [], [], [], []
        for idx, encode in enumerate(m.encoder):
            lengths.append(x.shape[-1])
            inject = None
            if idx < len(m.tencoder):
                lengths_t.append(xt.shape[-1])
                xt = m.tencoder[idx](xt)
                if m.tencoder[idx].empty:
                    inject = xt
                else:
                    skips_t.append(xt)
            x = encode(x, inject)
            if idx == 0 and m.freq_emb is not None:
                rows = torch.arange(x.shape[-2], device=x.device)
                emb = m.freq_emb(rows).t()[None, :, :, None].expand_as(x)
                x = x + m.freq_emb_scale * emb
            skips.append(x)
        if m.crosstransformer:
            x, xt = m.crosstransformer(x, xt)

        # Decoders: the time decoder starts once the branches separate again.
        first_t = m.depth - len(m.tdecoder)
        for idx, decode in enumerate(m.decoder):
            x, pre = decode(x, skips.pop(), lengths.pop())
            if idx >= first_t:
                tdec = m.tdecoder[idx - first_t]
                if tdec.empty:
                    xt, _ = tdec(pre[:, :, 0], None, lengths_t.pop())
                else:
                    xt, _ = tdec(xt, skips_t.pop(), lengths_t.pop())

        sources = len(m.sources)
        freq = x.view(batch, sources, -1, freqs, frames) * std[:, None] + mean[:, None]
        time = xt.view(batch, sources, -1, raw_audio.shape[-1]) * stdt[:, None] + meant[:, None]
        return freq, time


class Float16(nn.Module):
    """Runs ``module`` in float16: float32 inputs are cast on the way in, outputs stay float16."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module.half()

    def forward(self, spectrogram: torch.Tensor, raw_audio: torch.Tensor):
        return self.module(spectrogram.half(), raw_audio.half())


@contextlib.contextmanager
def embeddings_as(dtype: torch.dtype):
    """Makes the cross transformer's positional embeddings ``dtype`` while active.

    demucs builds them with ``torch.zeros``/``torch.arange`` defaults, i.e. float32, and adds
    them to the activations: in a float16 model that promotes the activations to float32 and
    the next ``layer_norm`` (float16 weights) fails with "mixed dtype (CPU)". Tracing inside
    this context records the cast, so the traced module carries it.
    """
    originals = transformer.create_sin_embedding, transformer.create_2d_sin_embedding

    def cast(fn):
        return lambda *args, **kwargs: fn(*args, **kwargs).to(dtype)

    transformer.create_sin_embedding = cast(originals[0])
    transformer.create_2d_sin_embedding = cast(originals[1])
    try:
        yield
    finally:
        transformer.create_sin_embedding, transformer.create_2d_sin_embedding = originals
