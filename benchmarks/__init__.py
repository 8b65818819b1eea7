"""Side-by-side benchmarks of openrouter_async against its peers; run ``python -m benchmarks``.

Nothing here is imported by the package; the peers (openai, openrouter, httpx-sse) come from the
``[bench]`` extra and are skipped, with the reason in the report, when they are not installed.
"""
