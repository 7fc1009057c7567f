// The same TorchScript stage timed by a plain C++ libtorch program: the reference point for
// htdemucs-stage-runner's overhead outside Python (benchmarks/native/compare.sh builds it).
//
// usage: loop MODULE.pt WARMUP REPEAT INPUT.raw:D0,D1,... [INPUT.raw:D0,... ...]
// Each INPUT.raw is float32 little-endian in C order with the given shape, one per argument
// of the module's forward, in order. Prints "native MEDIAN_MS MIN_MS" over the REPEAT timed
// calls, one thread, no autograd; each call's output is freed before the next call, as in a
// Python loop.
#include <ATen/Parallel.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// One input from "FILE:D0,D1,...": a tensor that owns its memory, as the runner's inputs do.
static bool read_input(const std::string& arg, at::Tensor* out) {
  const size_t colon = arg.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "%s: expected FILE:D0,D1,...\n", arg.c_str());
    return false;
  }
  const std::string file = arg.substr(0, colon);
  std::vector<int64_t> shape;
  int64_t n = 1;
  std::stringstream dims(arg.substr(colon + 1));
  for (std::string d; std::getline(dims, d, ',');) {
    shape.push_back(std::atoll(d.c_str()));
    n *= shape.back();
  }
  std::vector<float> data(static_cast<size_t>(n));
  std::ifstream in(file, std::ios::binary);
  if (!in.read(reinterpret_cast<char*>(data.data()), n * 4)) {
    std::fprintf(stderr, "%s: cannot read %lld float32 values\n", file.c_str(), (long long)n);
    return false;
  }
  *out = torch::from_blob(data.data(), shape, torch::kFloat).clone();
  return true;
}

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MODULE.pt WARMUP REPEAT INPUT.raw:D0,D1,... ...\n", argv[0]);
    return 2;
  }
  at::set_num_threads(1);
  torch::NoGradGuard no_grad;
  const int warmup = std::atoi(argv[2]);
  const int repeat = std::max(1, std::atoi(argv[3]));
  std::vector<torch::jit::IValue> inputs;
  for (int i = 4; i < argc; i++) {
    at::Tensor x;
    if (!read_input(argv[i], &x)) return 2;
    inputs.emplace_back(x);
  }
  torch::jit::Module module = torch::jit::load(argv[1]);
  module.eval();
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
