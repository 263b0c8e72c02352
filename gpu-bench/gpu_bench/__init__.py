"""gpu-bench: serving benchmarks for OpenAI-compatible endpoints (vLLM, Ray Serve LLM, Airlock)."""

RESULT_FORMAT = "gpu-bench-result/1"
