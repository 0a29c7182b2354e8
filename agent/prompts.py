"""Every prompt the agent sends, in English and Chinese. Nothing else in agent/ holds prompt text.

Two things shape them. Small models follow short, concrete requests far better than long
rules, so each prompt asks for one thing. And the write prompts are laid out for prefix caching:
a fixed head (request, title, the outline as planned) that never changes during a job, then the
sections already written as alternating turns, then the current step last. Word budgets and the
number of sections appear only in the step, so rebalancing budgets or adding sections does not
invalidate the server's cache (an added section is named in its own step); the request for more
sections is asked at the end of the same conversation, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from longwrite.core.text import Language


@dataclass(frozen=True)
class PromptSet:
    system: str
    plan: str  # {instruction} {sections} {target} {parts}
    # {instruction} {fewest} {most} {cap} {parts}: the request states no length, so the model
    # sizes each section for the task (as AgentWrite's plans do) and the sum is the target
    plan_sized: str
    plan_retry: str  # appended to the plan request (as lines) after an unusable answer
    extend: str  # {instruction} {covered} {sections} {parts}: more sections when the text runs short
    plan_rest: str  # {instruction} {opening} {sections} {target} {parts}: plan what follows an opening
    # A long document is planned in chapters (agent.chapters): first the chapters...
    plan_chapters: str  # {instruction} {sections} {target} {parts}
    # ...then each chapter's sections when the writing reaches it, knowing what the last one covered
    plan_chapter: str  # {instruction} {chapters} {earlier} {number} {title} {points} {target} {sections} {parts}
    chapter_points: str  # {points}: what the chapter covers, inside plan_chapter
    chapter_earlier: str  # {number} {sections}: the parts the chapter before it has
    chapter_line: str  # {number} {title}: one chapter in a list of chapters
    chapter_outline: str  # {chapters} {number} {title} {sections}: the write prompts' outline in a chapter
    parts: str  # what each section of an outline has: a heading and a sentence on what it covers
    parts_headings_only: str  # ... or only a heading (see Endpoint.outline_points)
    parts_sized: str  # a heading, a sentence and the words the section needs (plan_sized)
    parts_sized_headings_only: str
    # How an outline is asked to be laid out: lines (title first; without it for `extend`), or
    # JSON where the server holds the answer to a schema (see agent.plan.outline_schema)
    outline_as_lines: str
    sized_outline_as_lines: str  # ... each line ending with its length, such as "(300 words)"
    sections_as_lines: str
    outline_as_json: str
    opening_title: str  # the heading of an opening the served model wrote
    head: str  # {instruction} {title} {outline}
    outline_separator: str
    outline_line: str  # {number} {title} {points}
    step: str  # {number} {title} {points} {words} (no total: it changes when sections are added)
    first_step_note: str
    last_step_note: str
    window_note: str  # {omitted}: the first sections have slid out of the context window
    continue_step: str  # {number} {title} {words}
    # A finished section written again: {number} {title} {words} {note} {next}
    revise_step: str
    revise_note: str  # {note}: what the person asked for
    revise_next: str  # {start}: how the next part begins, so the new text leads into it
    single: str  # {instruction} {words}
    single_continue: str  # {words}
    fallback_titles: tuple[str, ...]
    fallback_points: str  # {title} {topic}
    angle_title: str  # {title} {angle}: another section on a planned topic, from a new angle
    angle_points: str  # {points} {angle}
    angles: tuple[str, ...]  # used when a plan has too few sections or the text runs short


ENGLISH = PromptSet(
    system="You are an experienced writer. You write clear, well-organised, specific prose, "
    "and you never repeat yourself.",
    plan=(
        'Make an outline for this writing task: "{instruction}"\n'
        "The whole text will be about {target} words. Give {sections} sections, {parts}."
    ),
    plan_sized=(
        'Make an outline for this writing task: "{instruction}"\n'
        "The task does not say how long the text should be, so decide it: give as many sections as "
        "the task needs ({fewest} to {most}), {parts}. Give each section the words it needs and no "
        "more; the whole text stays under {cap} words."
    ),
    plan_retry="Answer only with the title line and the numbered lines, one per section.",
    plan_rest=(
        'This writing task: "{instruction}"\n'
        "The text already begins like this:\n{opening}\n\n"
        "Make an outline for the rest of it, about {target} more words. Give {sections} sections "
        "that continue from the opening without repeating it, {parts}."
    ),
    plan_chapters=(
        'Make an outline of the chapters for this writing task: "{instruction}"\n'
        "The whole text will be about {target} words. Give {sections} chapters, {parts}."
    ),
    plan_chapter=(
        'This writing task: "{instruction}"\n'
        "Its chapters: {chapters}.\n{earlier}"
        'Make an outline of chapter {number}, "{title}", in about {target} words.{points} Give {sections} '
        "sections that do not repeat earlier chapters, {parts}."
    ),
    chapter_points=" It covers: {points}",
    chapter_earlier="Chapter {number} has these parts: {sections}.\n",
    chapter_line="{number}. {title}",
    chapter_outline='{chapters}. Now chapter {number}, "{title}", in parts: {sections}',
    parts="each with a heading and one sentence on what it covers",
    parts_headings_only="each with a short heading",
    parts_sized="each with a heading, one sentence on what it covers, and how many words it needs",
    parts_sized_headings_only="each with a short heading and how many words it needs",
    opening_title="Overview",
    extend=(
        'An outline for this writing task: "{instruction}"\n'
        "It already has these sections: {covered}.\n"
        "Give {sections} more sections on aspects not covered yet, {parts}."
    ),
    outline_as_lines=(
        "On the first line write the title as: Title: <title>. Then write one line per section: "
        "the number, the heading, a colon, and the sentence."
    ),
    sized_outline_as_lines=(
        "On the first line write the title as: Title: <title>. Then write one line per section: "
        "the number, the heading, a colon, the sentence, and its length in brackets, such as (300 words)."
    ),
    sections_as_lines="Write one line per section: the number, the heading, a colon, and the sentence.",
    outline_as_json="Answer in JSON.",
    head=(
        "Request: {instruction}\n"
        "Title: {title}\n"
        "Outline: {outline}\n\n"
        "We write this document one part at a time, in the order of the outline. Each answer is "
        "only the prose of the part asked for: no heading, no list of parts, no notes."
    ),
    outline_separator="; ",
    outline_line="{title}",
    step='Write the "{title}" part of the document (part {number}) in about {words} words. {points}',
    first_step_note=" It opens the document.",
    last_step_note=" It is the last part: bring the document to a close.",
    window_note="(Parts 1 to {omitted} are already written; the text continues from there.)",
    revise_step=(
        'Write the "{title}" part of the document (part {number}) again, in about {words} words, '
        "with new sentences.{note}{next}"
    ),
    revise_note=" Change this: {note}",
    revise_next=' The part after it begins: "{start}"',
    continue_step=(
        'Write one more paragraph for the "{title}" part, about {words} words, with facts and '
        "examples not mentioned yet. Do not repeat earlier sentences."
    ),
    single="{instruction}\n\nWrite about {words} words.",
    single_continue=(
        "Continue from where your text stops. Add about {words} more words with new details, "
        "without repeating anything."
    ),
    fallback_titles=(
        "Introduction",
        "Background",
        "Key ideas",
        "How it works in practice",
        "Examples",
        "Common problems and how to handle them",
        "Different points of view",
        "Lessons learned",
        "What comes next",
        "Conclusion",
    ),
    fallback_points="Write about {topic}, covering: {title}.",
    angle_title="{title}: {angle}",
    angle_points="{points} This part focuses on {angle}.",
    angles=(
        "in practice",
        "examples",
        "common mistakes",
        "questions people ask",
        "a closer look",
        "practical tips",
        "history and background",
        "what to watch for",
    ),
)

CHINESE = PromptSet(
    system="你是一位经验丰富的作者，文字清晰、条理分明、内容具体，从不重复。",
    plan=("请为下面的写作任务列出提纲：“{instruction}”\n全文约{target}字，分成{sections}个部分，{parts}。"),
    plan_sized=(
        "请为下面的写作任务列出提纲：“{instruction}”\n"
        "任务没有说明要写多长，请你来定：按任务的需要分成若干部分（{fewest}到{most}个），{parts}。"
        "每个部分只给它需要的字数，全文不超过{cap}字。"
    ),
    plan_retry="只回答标题行和带序号的提纲行，每个部分一行。",
    plan_rest=(
        "写作任务：“{instruction}”\n"
        "正文已经这样开头：\n{opening}\n\n"
        "请为后面的内容列出提纲，还要写约{target}字，分成{sections}个部分，接着开头往下写，不要重复开头；{parts}。"
    ),
    plan_chapters="请为下面的写作任务列出各章的提纲：“{instruction}”\n全文约{target}字，分成{sections}章，{parts}。",
    plan_chapter=(
        "写作任务：“{instruction}”\n全书各章：{chapters}。\n{earlier}"
        "请为第{number}章“{title}”{points}列出提纲，约{target}字，分成{sections}个部分，不要重复前面各章的内容；{parts}。"
    ),
    chapter_points="（{points}）",
    chapter_earlier="第{number}章写了这些部分：{sections}。\n",
    chapter_line="第{number}章 {title}",
    chapter_outline="{chapters}。现在写第{number}章“{title}”，分为：{sections}",
    parts="每个部分有一个小标题，再用一句话说明这一部分写什么",
    parts_headings_only="每个部分有一个简短的小标题",
    parts_sized="每个部分有一个小标题，用一句话说明这一部分写什么，并给出这一部分需要的字数",
    parts_sized_headings_only="每个部分有一个简短的小标题，并给出这一部分需要的字数",
    opening_title="概述",
    extend=(
        "写作任务：“{instruction}”\n提纲中已有这些部分：{covered}。\n请再列出{sections}个还没有写到的部分，{parts}。"
    ),
    outline_as_lines="第一行写标题，格式为：标题：<标题>。然后每个部分写一行：序号、小标题、冒号，再写那句话。",
    sized_outline_as_lines=(
        "第一行写标题，格式为：标题：<标题>。然后每个部分写一行：序号、小标题、冒号，再写那句话，最后在括号里写字数，如（300字）。"
    ),
    sections_as_lines="每个部分写一行：序号、小标题、冒号，再写那句话。",
    outline_as_json="用JSON回答。",
    head=(
        "写作要求：{instruction}\n"
        "标题：{title}\n"
        "提纲：{outline}\n\n"
        "我们按提纲的顺序一部分一部分地写。每次只写要求的那一部分的正文：不写小标题，不列提纲，不加说明。"
    ),
    outline_separator="；",
    outline_line="{title}",
    step="请写“{title}”这一部分（第{number}部分），约{words}字。{points}",
    first_step_note="这一部分是全文的开头。",
    last_step_note="这是最后一部分，请为全文收尾。",
    window_note="（第1至第{omitted}部分已经写完，下面的内容从那里接着写。）",
    revise_step="请重新写“{title}”这一部分（第{number}部分），约{words}字，用新的句子。{note}{next}",
    revise_note="请这样修改：{note}",
    revise_next="下一部分这样开头：“{start}”",
    continue_step="请为“{title}”这一部分再写一段，约{words}字，写前面没有提到的事实和例子，不要重复前面的句子。",
    single="{instruction}\n\n请写约{words}字。",
    single_continue="请从停下的地方接着写，再写约{words}字，加入新的细节，不要重复。",
    fallback_titles=(
        "引言",
        "背景",
        "核心内容",
        "实际情况",
        "具体例子",
        "常见问题与应对",
        "不同的观点",
        "经验与启示",
        "未来展望",
        "结语",
    ),
    fallback_points="围绕“{topic}”，写{title}。",
    angle_title="{title}：{angle}",
    angle_points="{points}这一部分着重写{angle}。",
    angles=("实践", "实例", "常见误区", "常见问题", "深入一步", "实用建议", "由来与背景", "注意事项"),
)


def prompts_for(language: Language) -> PromptSet:
    """The prompt set for the instruction's language."""
    return CHINESE if language == "zh" else ENGLISH
