"""A tiny HTDemucs-shaped network: STFT, frequency and time conv branches, iSTFT + sum.

Same data layout as HTDemucs (demucs 4.1.0): complex-as-channels spectrogram with the
Nyquist bin dropped, a frequency branch and a time branch that each predict every stem,
and the result ``time + istft(freq)``. Sizes are shrunk (nfft 512, a few thousand
parameters) so exporting and running the whole pipeline takes well under a second.
"""

from __future__ import annotations

import torch
from torch import nn

SAMPLE_RATE = 44_100
CHANNELS = 2
SOURCES = ("drums", "bass", "other", "vocals")
NFFT = 512
HOP = 128
# HTDemucs drops the Nyquist bin so the frequency axis divides evenly by the strides.
FREQ_BINS = NFFT // 2
# Total downsampling of the time branch; the input is padded to a multiple of it.
TIME_STRIDE = 16


class Stft(nn.Module):
    """audio [B, C, T] -> spectrogram [B, 2C, F, frames] (real/imag as channels)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(NFFT), persistent=True)
        # TorchScript cannot read module globals; keep the sizes as attributes.
        self.nfft, self.hop, self.bins = NFFT, HOP, FREQ_BINS

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        b, c, t = audio.shape
        z = torch.stft(
            audio.reshape(b * c, t),
            self.nfft,
            self.hop,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        z = z[:, : self.bins, :]
        frames = z.shape[-1]
        spec = torch.view_as_real(z)  # [B*C, F, frames, 2]
        spec = spec.reshape(b, c, self.bins, frames, 2).permute(0, 1, 4, 2, 3)
        return spec.reshape(b, c * 2, self.bins, frames).contiguous()


class Istft(nn.Module):
    """(freq_out [B, S, 2C, F, frames], time_out [B, S, C, T]) -> stems [B, S, C, T].

    The cross-branch sum happens here, as in HTDemucs: ``time + istft(freq)``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("window", torch.hann_window(NFFT), persistent=True)
        # TorchScript cannot read module globals; keep the sizes as attributes.
        self.nfft, self.hop, self.bins = NFFT, HOP, FREQ_BINS

    def forward(self, freq_out: torch.Tensor, time_out: torch.Tensor) -> torch.Tensor:
        b, s, cc, f, frames = freq_out.shape
        c = cc // 2
        t = time_out.shape[-1]
        z = freq_out.reshape(b * s * c, 2, f, frames).permute(0, 2, 3, 1).contiguous()
        z = torch.view_as_complex(z)
        z = torch.nn.functional.pad(z, (0, 0, 0, 1))  # restore the Nyquist bin as zeros
        wav = torch.istft(z, self.nfft, self.hop, window=self.window, center=True, length=t)
        return time_out + wav.reshape(b, s, c, t)


class FreqBranch(nn.Module):
    """Conv encoder/decoder over (frequency, frame): [B, 2C, F, frames] -> [B, S, 2C, F, frames]."""

    def __init__(self) -> None:
        super().__init__()
        k, st, p = (8, 3), (4, 1), (2, 1)
        cin = 2 * CHANNELS
        self.enc = nn.Sequential(
            nn.Conv2d(cin, 8, k, st, p),
            nn.GELU(),
            nn.Conv2d(8, 16, k, st, p),
            nn.GELU(),
        )
        self.mid = nn.Conv2d(16, 16, 1)
        self.sources = len(SOURCES)
        self.dec = nn.Sequential(
            nn.ConvTranspose2d(16, 8, k, st, p),
            nn.GELU(),
            nn.ConvTranspose2d(8, cin * len(SOURCES), k, st, p),
        )

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        b, cc, f, frames = spec.shape
        y = self.dec(self.mid(self.enc(spec)))
        return y.reshape(b, self.sources, cc, f, frames)


class TimeBranch(nn.Module):
    """Conv encoder/decoder over samples: [B, C, T] -> [B, S, C, T]."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv1d(CHANNELS, 8, 8, 4, 2),
            nn.GELU(),
            nn.Conv1d(8, 16, 8, 4, 2),
            nn.GELU(),
        )
        self.mid = nn.Conv1d(16, 16, 1)
        self.sources, self.stride = len(SOURCES), TIME_STRIDE
        self.dec = nn.Sequential(
            nn.ConvTranspose1d(16, 8, 8, 4, 2),
            nn.GELU(),
            nn.ConvTranspose1d(8, CHANNELS * len(SOURCES), 8, 4, 2),
        )

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        b, c, t = audio.shape
        pad = (self.stride - t % self.stride) % self.stride
        x = torch.nn.functional.pad(audio, (0, pad))
        y = self.dec(self.mid(self.enc(x)))[..., :t]
        return y.reshape(b, self.sources, c, t)


class Float16(nn.Module):
    """Runs the wrapped branch in float16 with float32 in/out, as CoreML does by default."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner.half()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x.half()).float()


class Branches(nn.Module):
    """Both branches as one model, like HTDemucsCoreML's (spectrogram, raw_audio) model."""

    def __init__(self, freq: nn.Module, time: nn.Module) -> None:
        super().__init__()
        self.freq = freq
        self.time = time

    def forward(
        self, spectrogram: torch.Tensor, raw_audio: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.freq(spectrogram), self.time(raw_audio)


class FullPipeline(nn.Module):
    """audio [B, C, T] -> stems [B, S, C, T], the stages composed in one module."""

    def __init__(self, stft: nn.Module, freq: nn.Module, time: nn.Module, istft: nn.Module):
        super().__init__()
        self.stft = stft
        self.freq = freq
        self.time = time
        self.istft = istft

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        return self.istft(self.freq(self.stft(audio)), self.time(audio))
