"""Length control, the loop guard and context windowing, without a model."""

from __future__ import annotations

from longwrite.agent import budget
from longwrite.agent.context import Step, choose_window, estimate_tokens, outline_text, section_messages
from longwrite.agent.document import assemble, drop_empty_lines, join_continuation, shown_answer, strip_heading
from longwrite.agent.guard import LoopGuard, cut_loop
from longwrite.agent.plan import fallback_plan
from longwrite.agent.prompts import ENGLISH
from longwrite.agent.state import Section, Turn
from longwrite.core.text import count_words
from tests.unit.scripted import prose


def test_renormalise_hits_the_total_exactly():
    assert budget.renormalise([1, 1, 1], 1000) == [334, 333, 333]
    assert sum(budget.renormalise([300, 500, 700, 1], 2000)) == 2000


def test_rebalance_spreads_a_shortfall_over_the_remaining_sections():
    plan = [Section(title=t, points="", words=500) for t in "ABCD"]
    # section A came out at 300 words: the remaining 1700 go to B, C, D
    rebalanced = budget.rebalance(plan, 1, 1700)
    assert rebalanced[0]["words"] == 500
    assert sum(s["words"] for s in rebalanced[1:]) == 1700
    # an overshoot shrinks them, but never below the floor
    shrunk = budget.rebalance(plan, 1, 30)
    assert all(s["words"] >= 150 for s in shrunk[1:])


def test_tokens_per_word_learns_from_usage():
    usage = budget.empty_usage()
    assert budget.tokens_per_word(usage, "en") == budget.PRIOR_TOKENS_PER_WORD["en"]
    usage.update(completion_tokens=20_000, generated_words=10_000)
    assert 1.95 < budget.tokens_per_word(usage, "en") < 2.0


def test_max_tokens_grows_with_the_budget_and_respects_the_ceiling():
    assert budget.max_tokens_for(100, 1.5, 10_000) < budget.max_tokens_for(400, 1.5, 10_000)
    assert budget.max_tokens_for(5000, 1.5, 1000) == 1000


def test_short_sections_are_continued_only_when_it_is_worth_a_call():
    assert budget.words_still_needed(300, 500) == 200
    assert budget.words_still_needed(470, 500) == 0  # within 8%
    assert budget.words_still_needed(5, 25) == 0  # under the minimum continuation


def test_trim_to_budget_cuts_at_a_sentence_end():
    text = prose(300)
    trimmed, changed = budget.trim_to_budget(text, 200)
    assert changed and trimmed.endswith(".")
    assert 0.9 * 200 <= count_words(trimmed) <= 1.03 * 200
    assert budget.trim_to_budget(prose(100), 200) == (prose(100), False)


def test_a_section_with_later_ones_keeps_a_moderate_surplus_for_them_to_absorb():
    text = prose(260)  # 1.3 x its budget: the sections after it get smaller budgets instead
    assert budget.trim_to_budget(text, 200, last=False) == (text, False)
    trimmed, changed = budget.trim_to_budget(prose(400), 200, last=False)
    assert changed and count_words(trimmed) <= 1.5 * 200


def test_drop_unfinished_sentence():
    assert budget.drop_unfinished_sentence("One. Two sentences here! And a half") == "One. Two sentences here!"
    assert budget.drop_unfinished_sentence("no end at all") == "no end at all"


def test_a_streaming_answer_ends_a_sentence_only_after_its_end_mark():
    assert budget.ends_sentence('He said "no." ') and budget.ends_sentence("灯塔建成了。")
    assert not budget.ends_sentence("The tower rose in 1.")  # "1.5 metres" may follow
    assert not budget.ends_sentence("The end. And then")


def test_loop_guard_removes_repeats_and_keeps_new_material():
    earlier = "The keeper lit the great lamp at the top of the tower every evening."
    guard = LoopGuard(earlier)
    text = (
        "The keeper lit the great lamp at the top of the tower every evening. "
        "Storms battered the rocks below for nine days without rest. "
        "Storms battered the rocks below for nine days without rest. "
        "Ships waited in the harbour until the sea was calm again."
    )
    kept, removed = cut_loop(text, guard)
    assert removed == 2
    assert kept == (
        "Storms battered the rocks below for nine days without rest. "
        "Ships waited in the harbour until the sea was calm again."
    )
    assert cut_loop(kept, LoopGuard()) == (kept, 0)


def test_a_sentence_that_copies_eight_words_of_earlier_text_is_a_repeat_seven_are_not():
    earlier = "In 1450 the goldsmith Johannes Gutenberg set up a press in the city of Mainz."
    guard = LoopGuard(earlier)
    eight = "Years later a printer set up a press in the city of Venice as well."  # "set up ... of"
    seven = "Years later a printer set up a press in the city squares of Venice."  # "set up ... city"
    fresh = "Paper came from mills along the river."
    assert cut_loop(f"{eight} {fresh}", guard) == (fresh, 1)
    assert cut_loop(f"{seven} {fresh}", guard) == (f"{seven} {fresh}", 0)
    # a CJK token is one character: a copy of nine is a shared phrase there, not a repeat
    earlier_zh, new_zh = "古腾堡在美因茨建起了一座印刷作坊。", "后来威尼斯也建起了一座印刷作坊，纸来自河边的磨坊。"
    assert cut_loop(new_zh, LoopGuard(earlier_zh, language="zh")) == (new_zh, 0)
    assert cut_loop(new_zh, LoopGuard(earlier_zh, language="en"))[1] == 1


def test_loop_guard_spots_a_running_loop_but_not_one_echo():
    guard = LoopGuard()
    sentence = "The light turns slowly above the dark and silent sea. "
    assert not guard.is_looping(sentence + "A new idea appears here at last. And more")
    assert guard.is_looping(sentence * 4)
    assert guard.find("Short. Short. Short line. Short line. Short line.") is not None
    # a finished text: a loop anywhere in it, not a lone echo between new sentences
    echo = sentence + "A new idea appears here at last. " + sentence + "Then the tide comes in once more."
    assert not guard.has_loop(echo) and guard.has_loop(echo + sentence * 3 + "The end came later that night.")


def test_document_helpers():
    assert strip_heading("## Ancient beacons\n\nFires burned on hills.") == "Fires burned on hills."
    assert strip_heading("Ancient Beacons:\nFires burned.") == "Fires burned."
    assert strip_heading("Fires burned on hills.\nMore.") == "Fires burned on hills.\nMore."
    assert drop_empty_lines("Text here.\n2.\n3.\nMore text.") == "Text here.\nMore text."
    assert join_continuation("First.", "Second.") == "First.\n\nSecond."
    assert join_continuation("First and", "second.") == "First and second."
    plan = [Section(title="A", points="", words=10), Section(title="B", points="", words=10)]
    sections = [{"index": 0, "title": "A", "text": "Alpha."}, {"index": 1, "title": "B", "text": "Beta."}]
    assert assemble("Doc", plan, sections, single=False) == "# Doc\n\n## A\n\nAlpha.\n\n## B\n\nBeta.\n"


def test_an_answer_is_shown_as_written_unless_more_than_a_heading_was_cut_from_it():
    answer = "## Ancient beacons\n\nFires burned  on hills. Towers came later. Half a sen"
    # a heading dropped in front and an unfinished end: shown as written, up to the kept end
    assert shown_answer(answer, "Fires burned on hills. Towers came later.") == answer[: answer.index(" Half")]
    # a sentence cut out of the middle (a repeat): the kept text alone
    assert shown_answer(answer, "Fires burned on hills. Half a sen") == "Fires burned on hills. Half a sen"
    # a repeated first sentence removed: the model must not see it again
    assert shown_answer("Fires burned on hills. Towers came later.", "Towers came later.") == "Towers came later."


def _messages(plan, bodies, start, index, outline=None, request=None):
    return section_messages(
        instruction="Write a long history of lighthouses.",
        title="Lighthouses",
        outline=outline or outline_text(plan, ENGLISH),
        plan=plan,
        written=[[Turn(ask="", said=body)] for body in bodies],
        window_start=start,
        step=Step(index=index, words=plan[index]["words"]),
        prompts=ENGLISH,
        closing=len(plan) - 1,
        request=request,
    )


def test_prompts_are_prefix_stable_from_one_section_to_the_next():
    plan = fallback_plan("Write a history of lighthouses.", 4000, 200, 1000, 500, ENGLISH)
    bodies = [prose(400, seed="s" + "abcdefghijklmnopqrstuvwxyz"[i % 26] * (1 + i // 26)) for i in range(len(plan))]
    for index in range(1, 5):
        before = _messages(plan, bodies, 0, index)
        after = _messages(plan, bodies, 0, index + 1)
        # everything but the last step is repeated unchanged, then the new section is appended
        assert [m.content for m in after[: len(before)]] == [m.content for m in before]


def test_asking_for_more_sections_and_adding_them_keep_the_prompt_prefix():
    plan = fallback_plan("Write a history of lighthouses.", 4000, 200, 1000, 500, ENGLISH)
    bodies = [prose(300, seed=f"s{letter}") for letter in "abc"]
    outline = outline_text(plan, ENGLISH)  # as planned
    before = _messages(plan, bodies, 0, 3, outline)
    asking = _messages(plan, bodies, 0, 3, outline, request=ENGLISH.extend)
    grown = [*plan[:3], Section(title="Added part", points="", words=300), *plan[3:]]
    after = _messages(grown, bodies, 0, 3, outline)
    assert after[-1].content.startswith('Write the "Added part" part')
    # the cached prefix (everything before the last turn) is the same in all three prompts
    prefix = [m.content for m in before[:-1]]
    assert [m.content for m in asking[:-1]] == prefix == [m.content for m in after[:-1]]


def test_window_slides_rarely_and_in_a_big_jump_on_a_small_context():
    plan = fallback_plan("Write a history of lighthouses.", 20_000, 200, 1000, 500, ENGLISH)
    bodies = [prose(500, seed="s" + "abcdefghijklmnopqrstuvwxyz"[i % 26] * (1 + i // 26)) for i in range(len(plan))]
    room = 3000  # tokens for the prompt on a small context
    start, slides = 0, 0
    for index in range(len(plan)):
        chosen = choose_window(
            build=lambda w, i=index: _messages(plan, bodies, w, i),
            current_start=start,
            index=index,
            room=room,
            ratio=1.0,
        )
        assert chosen is not None and chosen <= index
        assert estimate_tokens(_messages(plan, bodies, chosen, index)) <= room
        if chosen != start:
            slides += 1
            assert chosen - start >= 2  # a jump, not a nudge
        start = chosen
    assert 1 <= slides <= len(plan) // 2  # 40 sections, all reachable, few slides


def test_window_reports_a_head_too_big_for_the_context():
    plan = fallback_plan("Write a history of lighthouses.", 2000, 200, 1000, 500, ENGLISH)
    assert (
        choose_window(build=lambda w: _messages(plan, [], w, 0), current_start=0, index=0, room=50, ratio=1.0) is None
    )


def test_a_sentence_that_runs_on_is_spotted_and_dropped_but_not_a_list_or_a_long_sentence():
    guard = LoopGuard()
    run_on = " ".join(f"word{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(120))
    fine = "The keeper climbed the stairs. "
    assert guard.runs_on(fine + run_on) and guard.drop_run_on(fine + run_on) == fine.strip()
    assert guard.drop_run_on(run_on) == ""  # nothing before it ended a sentence
    long_sentence = " ".join(["and then the light came on"] * 10) + "."  # 70 words, finished
    listed = "\n".join(f"- item number {i} of the list" for i in range(40))  # lines, no full stops
    for text in (long_sentence, listed, fine + " ".join(run_on.split()[:70])):
        assert not guard.runs_on(text) and guard.drop_run_on(text) == text
    zh_guard = LoopGuard(language="zh")
    assert not zh_guard.runs_on("灯塔" * 60) and zh_guard.runs_on("灯塔" * 120)  # 120 and 240 characters


def test_loop_guard_removes_echoes_of_the_prompt():
    prompt = "We write this document one part at a time, in the order of the outline."
    guard = LoopGuard("", prompt=prompt)
    text = f"{prompt} Lighthouses guided ships past dangerous rocks for centuries."
    assert cut_loop(text, guard) == ("Lighthouses guided ships past dangerous rocks for centuries.", 1)


def test_a_prompt_read_again_anyway_slides_the_window_so_the_calls_after_it_only_append():
    """At a chapter's first section the head changes and the server reads the whole prompt: the
    window slides then, not a few sections later (a second full read)."""
    plan = fallback_plan("Write a history of lighthouses.", 20_000, 200, 1000, 500, ENGLISH)
    bodies = [prose(500, seed="s" + "abcdefghijklmnopqrstuvwxyz"[i % 26] * (1 + i // 26)) for i in range(len(plan))]
    index, room = 5, 12_000

    def build(start):
        return _messages(plan, bodies, start, index)

    assert estimate_tokens(build(0)) <= room  # it fits as it is
    kept = choose_window(build=build, current_start=0, index=index, room=room, ratio=1.0)
    slid = choose_window(build=build, current_start=0, index=index, room=room, ratio=1.0, reread=True)
    assert kept == 0
    assert 0 < slid < index  # some history kept, the oldest dropped
    assert estimate_tokens(build(slid)) < 0.8 * estimate_tokens(build(0))
    # a window already that small stays where it is
    assert choose_window(build=build, current_start=slid, index=index, room=room, ratio=1.0, reread=True) == slid
