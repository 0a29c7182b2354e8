"""The agent for LangGraph Studio and `langgraph dev` (langgraph.json points here).

The graph is the one `longwrite write` runs; the LangGraph server adds its own checkpointer. Its
context is GraphContext's JSON: {"endpoint": {"base_url": ..., "model": ...}, "settings": {...}};
left empty, the endpoint is LONGWRITE_BASE_URL's (the embedded default is not started inside a
server). The input is a WriteState: {"instruction": "Write a 3000-word ..."} at least.
"""

from __future__ import annotations

from longwrite.agent.graph import build_graph

graph = build_graph()
