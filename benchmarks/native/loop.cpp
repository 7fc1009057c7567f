// The same TorchScript stage timed by a plain C++ libtorch program: the reference point for
// htdemucs-stage-runner's overhead outside Python (benchmarks/native/compare.sh builds it).
//
// usage: loop MODULE.pt INPUT.raw WARMUP REPEAT D0 [D1 ...]
// INPUT.raw is float32 little-endian in C order with the given shape. Prints
// "native MEDIAN_MS MIN_MS" over the REPEAT timed calls, one thread, no autograd; each
// call's output is freed before the next call, as in a Python loop.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: %s MODULE.pt INPUT.raw WARMUP REPEAT D0 [D1 ...]\n", argv[0]);
    return 2;
  }
  at::set_num_threads(1);
  torch::NoGradGuard no_grad;
  const int warmup = std::atoi(argv[3]);
  const int repeat = std::max(1, std::atoi(argv[4]));
  std::vector<int64_t> shape;
  int64_t n = 1;
  for (int i = 5; i < argc; i++) {
    shape.push_back(std::atoll(argv[i]));
    n *= shape.back();
  }
  std::vector<float> data(static_cast<size_t>(n));
  std::ifstream in(argv[2], std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(data.data()), n * 4)) {
    std::fprintf(stderr, "%s: cannot read %lld float32 values\n", argv[2], (long long)n);
    return 2;
  }
  // A tensor that owns its memory, as the runner's inputs do.
  at::Tensor x = torch::from_blob(data.data(), shape, torch::kFloat).clone();
  torch::jit::Module module = torch::jit::load(argv[1]);
  module.eval();
  std::vector<torch::jit::IValue> inputs{x};
  std::vector<double> ms;
  for (int i = 0; i < warmup + repeat; i++) {
    const auto t0 = std::chrono::steady_clock::now();
    const torch::jit::IValue out = module.forward(inputs);
    const std::chrono::duration<double, std::milli> dt = std::chrono::steady_clock::now() - t0;
    if (i >= warmup) ms.push_back(dt.count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("native %.3f %.3f\n", ms[ms.size() / 2], ms[0]);
  return 0;
}
