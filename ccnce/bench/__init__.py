"""Benchmarks (`ccnce bench NAME`): each module has run(quick) -> dict and format_result(dict) -> str."""
