"""The graph as a LangGraph server runs it: langgraph.json names it, its context is plain JSON (no
secrets in it), and what is not JSON (the chat model, the stop switch) reaches the nodes through
the config."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

from longwrite.agent.state import CANCEL_KEY, MAKE_MODEL_KEY, GraphContext, agent_context
from longwrite.core.settings import Settings
from longwrite.core.text import count_words
from tests.unit.scripted import ScriptedChatModel, prose, scripted_context

ROOT = Path(__file__).resolve().parents[2]


def _studio_graph():
    spec = json.loads((ROOT / "langgraph.json").read_text(encoding="utf-8"))
    module_path, name = spec["graphs"]["agentwrite"].split(":")
    # as LangGraph's server loads it: the file by its path, not as a package of ours
    loader = importlib.util.spec_from_file_location("langgraph_studio_graph", ROOT / module_path)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return getattr(module, name)


def _writer(messages, options):
    """A plain-line outline, then each section as long as it is asked to be."""
    last = messages[-1].content
    if "Make an outline" in last:
        return "Title: Rivers\n" + "\n".join(f"{n}. Part {n}: about topic {n}" for n in range(1, 4))
    asked = re.search(r"about (\d+)(?: more)? words", last)
    return prose(int(asked.group(1)) if asked else 100, seed=f"r{len(messages)}")


def test_langgraph_json_names_the_graph_and_its_context_is_json():
    graph = _studio_graph()
    assert graph.context_schema is GraphContext
    ctx = scripted_context(Settings(home="/nonexistent", api_key="sk-never-in-context"), lambda: None)
    sent = ctx.graph_context().model_dump_json()
    assert "sk-never-in-context" not in sent and json.loads(sent)["endpoint"]["model"] == "scripted"
    back = agent_context(json.loads(sent), {MAKE_MODEL_KEY: ctx.make_model, CANCEL_KEY: None})
    assert back.endpoint == ctx.endpoint and back.settings.section_calls == ctx.settings.section_calls


def test_the_studio_graph_writes_from_a_json_context(tmp_path):
    model = ScriptedChatModel(reply=_writer)
    context = scripted_context(Settings(home=tmp_path), lambda: model).graph_context().model_dump(mode="json")
    config = {"configurable": {"thread_id": "studio", MAKE_MODEL_KEY: lambda: model}, "recursion_limit": 200}
    final = _studio_graph().invoke(
        {"instruction": "Write a 900-word essay on rivers.", "target_words": 900, "sections": []},
        config,
        context=context,  # a plain dict, as a LangGraph server passes it
    )
    assert final["status"] == "done" and 700 <= count_words(final["document"]) <= 1100
