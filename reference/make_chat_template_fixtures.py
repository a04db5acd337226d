# make_chat_template_fixtures.py — renders real chat templates with transformers' own machinery, for ChatTemplatesTests.
#
# Pinned: transformers==5.23.0, jinja2==3.1.6, gguf==0.19.0, trl==1.16.0 (the versions are written into the fixture).
#   .venv-ref/bin/python reference/make_chat_template_fixtures.py --llama-cpp-python-sdist DIR
#                                                                             # render fixtures from committed templates
#   .venv-ref/bin/python reference/make_chat_template_fixtures.py --extract \
#       --llama-cpp-python-sdist /tmp/llama_cpp_python-0.3.36 --gguf models/SmolLM2-135M-Instruct.Q4_1.gguf
#                                                                             # re-extract the template strings first
# The sdist comes from `pip download --no-deps --no-binary llama-cpp-python llama-cpp-python==0.3.36` (not built).
#
# Rendering goes through `transformers.utils.chat_template_utils.render_jinja_template`, after the same input
# clean-up that `PreTrainedTokenizerBase.apply_chat_template` does (refuse an empty conversation, drop None values,
# special tokens passed as template kwargs). `strftime_now` is pinned to FIXED_NOW so the output is reproducible.

import argparse
import ast
import datetime as real_datetime
import importlib.metadata
import json
import pathlib
import platform
import re
import sys

import jinja2
import transformers
from transformers.utils import chat_template_utils

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "Tests" / "ChatTemplatesTests" / "Fixtures"
TEMPLATES = FIXTURES / "templates"
FIXED_NOW = real_datetime.datetime(2024, 7, 26, 14, 5, 9)

# id -> where the template string comes from, and the special tokens its tokenizer defines.
SOURCES = {
    "smollm2": dict(
        origin="GGUF metadata key tokenizer.chat_template of models/SmolLM2-135M-Instruct.Q4_1.gguf "
        "(HuggingFaceTB/SmolLM2-135M-Instruct), read with the gguf package",
        bos_token="<|im_start|>", eos_token="<|im_end|>"),
    "llama3": dict(
        origin="trl==1.16.0 trl/chat_templates/llama3.jinja ('Original Llama 3 chat template', "
        "meta-llama/Meta-Llama-3-8B-Instruct); same text as llama-cpp-python 0.3.36 LLAMA3_INSTRUCT_CHAT_TEMPLATE",
        bos_token="<|begin_of_text|>", eos_token="<|eot_id|>"),
    "llama3_1": dict(
        origin="trl==1.16.0 trl/chat_templates/llama3_1.jinja (meta-llama/Llama-3.1-8B-Instruct); byte-identical to "
        "llama-cpp-python 0.3.36 sdist vendor/llama.cpp/models/templates/meta-llama-Llama-3.1-8B-Instruct.jinja",
        bos_token="<|begin_of_text|>", eos_token="<|eot_id|>"),
    "llama3_2": dict(
        origin="trl==1.16.0 trl/chat_templates/llama3_2.jinja (meta-llama/Llama-3.2-3B-Instruct); byte-identical to "
        "llama-cpp-python 0.3.36 sdist vendor/llama.cpp/models/templates/meta-llama-Llama-3.2-3B-Instruct.jinja",
        bos_token="<|begin_of_text|>", eos_token="<|eot_id|>"),
    "llama3_training": dict(
        origin="trl==1.16.0 trl/chat_templates/llama3_training.jinja (Llama 3 with {% generation %} markers)",
        bos_token="<|begin_of_text|>", eos_token="<|eot_id|>"),
    "mistral_v0_1": dict(
        origin="llama-cpp-python 0.3.36 sdist llama_cpp/llama_chat_format.py MISTRAL_INSTRUCT_CHAT_TEMPLATE "
        "('Source: https://huggingface.co/mistralai/Mistral-7B-Instruct-v0.1/blob/main/tokenizer_config.json')",
        bos_token="<s>", eos_token="</s>"),
    "mistral_v0_2": dict(
        origin="llama-cpp-python 0.3.36 sdist vendor/llama.cpp/tests/test-chat-template.cpp, case "
        "\"mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)\"",
        bos_token="<s>", eos_token="</s>"),
    "mistral_v0_3": dict(
        origin="llama-cpp-python 0.3.36 sdist vendor/llama.cpp/tests/test-chat-template.cpp, case "
        "\"Mistral-Large-Instruct-2407 (mistralai 'v3' template ...)\": mistral-common's 'v3' template, the one "
        "mistralai/Mistral-7B-Instruct-v0.3 ships",
        bos_token="<s>", eos_token="</s>"),
    "qwen2_5": dict(
        origin="trl==1.16.0 trl/chat_templates/qwen2_5.jinja (Qwen/Qwen2.5-7B-Instruct); byte-identical to "
        "llama-cpp-python 0.3.36 sdist vendor/llama.cpp/models/templates/Qwen-Qwen2.5-7B-Instruct.jinja",
        bos_token=None, eos_token="<|im_end|>"),
    "qwen2_5_training": dict(
        origin="trl==1.16.0 trl/chat_templates/qwen2_5_training.jinja (Qwen2.5 with {% generation %} markers)",
        bos_token=None, eos_token="<|im_end|>"),
    "zephyr": dict(
        origin="HuggingFaceH4/zephyr-7b-beta tokenizer_config.json chat_template, as copied verbatim into public "
        "code (TRL's examples/scripts/ppo and rloo scripts, TinyLlama-1.1B-Chat GGUF), found by code search",
        bos_token="<s>", eos_token="</s>"),
    "chatml": dict(
        origin="TRL setup_chat_format's ChatMlSpecialTokens.chat_template (trl/models/utils.py, trl==0.24.0; the "
        "function was removed before trl 1.16). The '\\n' in its f-string are real newlines",
        bos_token="<|im_start|>", eos_token="<|im_end|>"),
}

# The JSON/Python sources spell every newline, in and out of the Jinja string literals, as a real newline.
ZEPHYR = (
    "{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + "
    "eos_token }}\n{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
    "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
    "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}"
)

# trl 0.24.0 ChatMlSpecialTokens(bos_token="<|im_start|>", eos_token="<|im_end|>").chat_template, evaluated.
CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)


def cpp_test_case_template(test_cpp: str, name_prefix: str) -> str:
    """The template_str that follows `/* .name= */ "<name_prefix>...` in llama.cpp's test-chat-template.cpp."""
    match = re.search(r'/\* \.name= \*/ "' + re.escape(name_prefix) + r'[^\n]*\n\s*/\* \.template_str= \*/ ("(?:[^"\\]|\\.)*")', test_cpp)
    if not match:
        raise SystemExit(f"test case {name_prefix!r} not found")
    return ast.literal_eval(match.group(1))  # C and Python agree on these ASCII escapes


def extract(args) -> None:
    import gguf
    import trl

    TEMPLATES.mkdir(parents=True, exist_ok=True)
    texts = {}
    reader = gguf.GGUFReader(args.gguf)
    field = reader.fields["tokenizer.chat_template"]
    texts["smollm2"] = bytes(field.parts[field.data[0]]).decode("utf-8")
    trl_dir = pathlib.Path(trl.__file__).parent / "chat_templates"
    for key, name in [("llama3", "llama3"), ("llama3_1", "llama3_1"), ("llama3_2", "llama3_2"),
                      ("llama3_training", "llama3_training"), ("qwen2_5", "qwen2_5"),
                      ("qwen2_5_training", "qwen2_5_training")]:
        texts[key] = (trl_dir / f"{name}.jinja").read_text(encoding="utf-8")
    sdist = pathlib.Path(args.llama_cpp_python_sdist)
    module = ast.parse((sdist / "llama_cpp" / "llama_chat_format.py").read_text(encoding="utf-8"))
    constants = {node.targets[0].id: ast.literal_eval(node.value) for node in module.body
                 if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
                 and node.targets[0].id.endswith("_CHAT_TEMPLATE")}
    texts["mistral_v0_1"] = constants["MISTRAL_INSTRUCT_CHAT_TEMPLATE"]
    if constants["LLAMA3_INSTRUCT_CHAT_TEMPLATE"] != texts["llama3"]:
        raise SystemExit("llama-cpp-python's Llama 3 template differs from TRL's")
    test_cpp = (sdist / "vendor" / "llama.cpp" / "tests" / "test-chat-template.cpp").read_text(encoding="utf-8")
    texts["mistral_v0_2"] = cpp_test_case_template(
        test_cpp, "mistralai/Mistral-7B-Instruct-v0.2 (mistralai 'v1' template with a system prompt)")
    texts["mistral_v0_3"] = cpp_test_case_template(test_cpp, "Mistral-Large-Instruct-2407 (mistralai 'v3' template")
    texts["zephyr"] = ZEPHYR
    texts["chatml"] = CHATML
    for key, text in texts.items():
        (TEMPLATES / f"{key}.jinja").write_text(text, encoding="utf-8", newline="")


# Conversations. Each is rendered with and without the generation prompt unless it says otherwise.
SYSTEM = {"role": "system", "content": "You are a concise assistant."}
U1 = {"role": "user", "content": "What is the capital of France?"}
A1 = {"role": "assistant", "content": "Paris."}
U2 = {"role": "user", "content": "And of Italy?"}
A2 = {"role": "assistant", "content": "Rome."}
U3 = {"role": "user", "content": "Thanks!"}

CONVERSATIONS = {
    "single_user": [U1],
    "system_user": [SYSTEM, U1],
    "user_assistant": [U1, A1],
    "system_user_assistant": [SYSTEM, U1, A1],
    "multi_turn": [U1, A1, U2, A2, U3],
    "system_multi_turn": [SYSTEM, U1, A1, U2, A2],
    "unicode": [
        {"role": "system", "content": "Réponds en français, s'il te plaît — merci ☕"},
        {"role": "user", "content": "日本語で？ 🙂 Ünïcödé \"quotes\" and \\backslash\\ ✓"},
        {"role": "assistant", "content": "Bien sûr ! 👍\nNouvelle ligne\tet tabulation."},
        {"role": "user", "content": "مرحبا 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"},
    ],
    "empty_content": [{"role": "user", "content": ""}, {"role": "assistant", "content": ""},
                      {"role": "user", "content": "still there?"}],
    "whitespace_content": [{"role": "system", "content": "  padded system \n"},
                           {"role": "user", "content": "\n\n  Hello with spaces   \n"},
                           {"role": "assistant", "content": "   I am an assistant   "},
                           {"role": "user", "content": "\tTabbed\t"}],
    "template_like_text": [{"role": "user", "content": "Render {{ this }} and {% not this %} {# or this #} literally."},
                           {"role": "assistant", "content": "<|im_end|> </s> [INST] <<SYS>> are just text here."},
                           {"role": "user", "content": "Multi\nline\r\ncontent with 'single' and \"double\" quotes."}],
    "assistant_first": [A1, U1],
    "two_users": [U1, U2],
    "system_only": [SYSTEM],
    "long": [SYSTEM] + [m for i in range(6) for m in (
        {"role": "user", "content": f"Question number {i + 1}?"},
        {"role": "assistant", "content": f"Answer number {i + 1}."})] + [U3],
}

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "The city, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}

TOOL_CONVERSATION = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
        "name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}}]},
    {"role": "tool", "name": "get_weather", "content": "{\"temperature\": 21.5, \"sky\": \"clear\"}"},
]

# Extra cases: (template ids, name, messages, add_generation_prompt, extra template kwargs)
EXTRA_CASES = [
    (["llama3_1", "llama3_2"], "date_string", [SYSTEM, U1], True, {"date_string": "01 Jan 2025"}),
    (["llama3_1", "llama3_2", "qwen2_5", "mistral_v0_3"], "tools", [SYSTEM, U1], True, {"tools": [WEATHER_TOOL]}),
    (["llama3_1", "llama3_2", "qwen2_5"], "tool_call_round_trip", TOOL_CONVERSATION, True, {"tools": [WEATHER_TOOL]}),
    (["qwen2_5"], "tool_call_no_tools", TOOL_CONVERSATION, False, {}),
    (["llama3_1"], "builtin_tools", [U1], True, {"builtin_tools": ["code_interpreter", "brave_search"],
                                                 "tools": [WEATHER_TOOL]}),
    (["mistral_v0_1", "mistral_v0_2", "mistral_v0_3"], "tool_role", [U1, {"role": "tool", "content": "x"}], False, {}),
    (["llama3", "chatml", "smollm2"], "none_content_dropped", [U1, {"role": "assistant", "content": None}], False, {}),
]


# Small templates that exercise one feature each, rendered with the same jinja2 environment and SNIPPET_CONTEXT.
SNIPPET_CONTEXT = {
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": " Hi there "},
                 {"role": "assistant", "content": "Hello!", "tool_calls": [{"function": {"name": "f", "arguments": {"b": 1, "a": [1, 2.5, None, True]}}}]}],
    "words": ["banana", "Apple", "cherry", "apple"],
    "numbers": [3, 1, 2, 10, -4],
    "user": {"name": "Ada", "age": 36, "tags": ["x", "y"], "nested": {"k": "v"}},
    "people": [{"name": "Bo", "age": 30}, {"name": "al", "age": 25}, {"name": "Cy", "age": 30}, {"name": "Di"}],
    "text": "Hello, World! héllo wörld",
    "empty": "", "zero": 0, "nothing": None, "yes": True, "no": False, "pi": 3.14159, "big": 12345678901234,
    "html": "<b>bold</b> & 'quoted' \"text\"",
}
SNIPPETS = [
    # printing
    "{{ 3/2 }}|{{ 4/2 }}|{{ 7//2 }}|{{ -7//2 }}|{{ 7%3 }}|{{ -7%3 }}|{{ 2**10 }}|{{ 2**-1 }}|{{ 2**3**2 }}",
    "{{ 1.0 }}|{{ 0.1 + 0.2 }}|{{ 1e16 }}|{{ 1e15 }}|{{ 1.5e-7 }}|{{ 123.456 }}|{{ -0.0 }}|{{ 1e100 }}|{{ 0.0001 }}|{{ 0.00001 }}",
    "{{ true }}|{{ false }}|{{ True }}|{{ none }}|{{ None }}|{{ nothing }}|{{ undefined_name }}|{{ big }}|{{ pi }}",
    "{{ [1, 'a', none, true, 1.5] }}|{{ {'k': 'v', 'n': [1]} }}|{{ ('a',) }}|{{ (1, 2) }}|{{ [] }}|{{ {} }}",
    "{{ ['it\\'s', \"say \\\"hi\\\"\", 'both \\' \"', 'tab\\there', 'nl\\n', 'bs\\\\', '\\x01', 'é', '\\u2028'] }}",
    "{{ user }}|{{ words }}|{{ messages[2].tool_calls }}",
    "{{ 'a' ~ 1 ~ none ~ true ~ undefined_name ~ 1.5 }}|{{ 'x' * 3 }}|{{ 3 * 'ab' }}|{{ [1] * 2 }}|{{ [1] + [2] }}",
    # string literals and escapes
    "{{ 'a\\nb' }}|{{ \"tab\\tend\" }}|{{ 'uni\\u00e9\\U0001F600' }}|{{ 'oct\\101' }}|{{ 'keep\\d' }}|{{ 'adjacent' 'strings' }}",
    # whitespace control
    "a  {{- ' b ' -}}  c\n  {%- if true %} d {% endif -%}\n e",
    "  {% if true %}\n  yes\n  {% endif %}\n  {{- 'a' }}  {# c #}\n  b",
    "line1\n    {% for i in [1,2] %}\n    item{{ i }}\n    {% endfor %}\nend\n",
    "x {%+ if true %}y{% endif +%}\nz",
    "{# comment #}\n{#- trimmed -#}\n  text\n{% raw %}{{ not parsed }}{% endraw %}\n",
    "a\r\nb\rc\n{% if true %}\r\nd{% endif %}",
    "{% for m in messages %}\n  {%- if m.role == 'user' %}\n    U: {{ m.content }}\n  {%- else %}\n    O: {{ m.content }}\n  {%- endif %}\n{% endfor %}",
    # loops
    "{% for w in words %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %}",
    "{% for w in words %}[{{ loop.previtem }}<{{ w }}>{{ loop.nextitem }}]{% endfor %}",
    "{% for n in numbers if n > 1 %}{{ n }}:{{ loop.index }}/{{ loop.length }} {% else %}none{% endfor %}|{% for x in [] %}x{% else %}empty{% endfor %}",
    "{% for k, v in user.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in user %}{{ k }},{% endfor %}",
    "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}|{% for c in 'héllo' %}{{ c }}.{% endfor %}",
    "{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 5 %}{% break %}{% endif %}{{ i }}{% endfor %}",
    "{% for i in range(3) %}{% for j in range(2) %}{{ loop.index }}{% endfor %}{{ loop.index }}|{% endfor %}",
    "{% for i in range(3) %}{{ loop.cycle('odd', 'even') }} {% endfor %}|{{ range(5) | list }}|{{ range(1, 10, 3) | list }}|{{ range(5, 0, -2) | list }}",
    # scoping
    "{% set x = 1 %}{% for i in [1,2] %}{{ x }}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}",
    "{% set ns = namespace(total=0, items=[]) %}{% for n in numbers %}{% set ns.total = ns.total + n %}{% set ns.items = ns.items + [n] %}{% endfor %}{{ ns.total }} {{ ns.items }}",
    "{% if true %}{% set inside = 'set in if' %}{% endif %}{{ inside }}",
    "{% set a, b = 1, 2 %}{{ a }}{{ b }}|{% set t = 1, 2 %}{{ t }}",
    "{% set block %}Hello {{ user.name }}!{% endset %}{{ block }}|{% set up | upper %}shout{% endset %}{{ up }}",
    "{% with a = 5, b = 6 %}{{ a * b }}{% endwith %}{{ a }}",
    # macros
    "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ada') }} {{ greet('Bo', greeting='Hi') }} {{ greet(name='Cy') }}",
    "{% macro render(m) -%}\n<{{ m.role }}>{{ m.content | trim }}\n{%- endmacro %}{% for m in messages %}{{ render(m) }}{% endfor %}",
    "{% macro wrap() %}[{{ caller() }}]{% endmacro %}{% call wrap() %}inner {{ user.name }}{% endcall %}",
    "{% filter upper %}shout {{ user.name }}{% endfilter %}",
    "{% generation %}gen {{ user.name }}{% endgeneration %}",
    # expressions
    "{{ message.role if message is defined else 'none' }}|{{ 'yes' if yes else 'no' }}|{{ 'x' if no }}|{{ 1 if zero else 2 }}",
    "{{ messages[0]['content'] }}|{{ messages[0].content }}|{{ messages[-1].role }}|{{ user['name'] }}|{{ user.nested.k }}|{{ words.0 }}",
    "{{ text[0:5] }}|{{ text[-5:] }}|{{ text[::-1] }}|{{ numbers[1:4] }}|{{ numbers[::2] }}|{{ numbers[-2:] }}|{{ numbers[:-1] }}|{{ numbers[10:] }}|{{ words[::-2] }}",
    "{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 1 == 1.0 }}|{{ true == 1 }}|{{ 'a' < 'b' }}|{{ [1, 2] < [1, 3] }}|{{ 'a' != 'b' }}|{{ none == none }}",
    "{{ 'ell' in 'hello' }}|{{ 2 in numbers }}|{{ 'name' in user }}|{{ 'zzz' not in user }}|{{ 'x' in undefined_name }}",
    "{{ yes and 'a' }}|{{ no and 'a' }}|{{ no or 'b' }}|{{ empty or 'fallback' }}|{{ not empty }}|{{ not 0 }}|{{ [] or {} or 'last' }}",
    "{{ -numbers[0] }}|{{ +pi }}|{{ -1 | abs }}|{{ -(3) }}|{{ 10 - 2 - 3 }}|{{ 2 * 3 + 4 }}|{{ 2 * (3 + 4) }}|{{ 1 + 2 * 3 ** 2 }}",
    "{% if [] %}a{% elif {} %}b{% elif '' %}c{% elif 0.0 %}d{% elif none %}e{% elif undefined_name %}f{% else %}g{% endif %}",
    "{% if ' ' %}space{% endif %}|{% if [0] %}list{% endif %}|{% if namespace() %}ns{% endif %}|{% if 0.1 %}float{% endif %}",
    # tests
    "{{ x is defined }}{{ user is defined }}{{ x is undefined }}{{ nothing is none }}{{ zero is none }}{{ 'a' is string }}{{ 1 is number }}{{ 1.5 is number }}{{ true is number }}",
    "{{ user is mapping }}{{ words is sequence }}{{ 'a' is iterable }}{{ 5 is iterable }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ 9 is divisibleby(4) }}",
    "{{ 1 is integer }}{{ 1.0 is integer }}{{ 1.0 is float }}{{ true is boolean }}{{ true is true }}{{ 1 is true }}{{ false is false }}{{ 0 is false }}",
    "{{ 'a' is eq 'a' }}{{ 2 is gt 1 }}{{ 2 is lt 1 }}{{ 2 is ge 2 }}{{ 2 is le 1 }}{{ 'b' is in 'abc' }}{{ 2 is ne 3 }}{{ 'abc' is lower }}{{ 'ABC' is upper }}{{ nothing is sameas none }}",
    "{{ messages | selectattr('role', 'equalto', 'user') | list }}|{{ messages | rejectattr('role', 'eq', 'user') | map(attribute='role') | list }}",
    "{{ numbers | select('odd') | list }}|{{ numbers | reject('odd') | list }}|{{ [0, 1, '', 'a', none] | select | list }}|{{ people | selectattr('age') | map(attribute='name') | join(',') }}",
    "{{ messages[2].tool_calls is defined }}{{ messages[0].tool_calls is defined }}{{ messages[0].tool_calls is not defined }}{{ not messages[0].missing }}",
    # filters
    "{{ '  padded  ' | trim }}|{{ 'xxhixx' | trim('x') }}|{{ text | lower }}|{{ text | upper }}|{{ 'hello WORLD' | capitalize }}|{{ \"they're bob's-x (yo) [a]\" | title }}",
    "{{ words | length }}|{{ text | length }}|{{ user | count }}|{{ undefined_name | length }}|{{ words | first }}|{{ words | last }}|{{ 'abc' | first }}|{{ text | wordcount }}",
    "{{ undefined_name | default('dflt') }}|{{ empty | default('dflt') }}|{{ empty | default('dflt', true) }}|{{ nothing | d('x') }}|{{ nothing | default('x', boolean=true) }}",
    "{{ words | join(', ') }}|{{ numbers | join }}|{{ people | join('; ', attribute='name') }}|{{ words | sort | join(',') }}|{{ words | sort(case_sensitive=true) | join(',') }}",
    "{{ numbers | sort }}|{{ numbers | sort(reverse=true) }}|{{ people | sort(attribute='name') | map(attribute='name') | list }}|{{ words | unique | list }}|{{ words | unique(case_sensitive=true) | list }}",
    "{{ numbers | max }}|{{ numbers | min }}|{{ words | max }}|{{ words | min }}|{{ numbers | sum }}|{{ people[:3] | sum(attribute='age') }}|{{ numbers | sum(start=100) }}",
    "{{ words | reverse | list }}|{{ 'abc' | reverse }}|{{ user | list }}|{{ 'ab' | list }}|{{ user | items | list }}|{{ user | dictsort }}|{{ {'b': 1, 'A': 2, 'c': 0} | dictsort(by='value', reverse=true) }}",
    "{{ 'a-b-c' | replace('-', '+') }}|{{ 'aaa' | replace('a', 'b', 2) }}|{{ 'abc' | replace('', '.') }}|{{ html | escape }}|{{ html | e }}|{{ html | striptags }}",
    "{{ '42' | int }}|{{ '4.7' | int }}|{{ 'x' | int }}|{{ 'x' | int(-1) }}|{{ '0x1A' | int(0, 16) }}|{{ 3.99 | int }}|{{ '3.5' | float }}|{{ 'y' | float }}|{{ 2 | float }}|{{ true | int }}",
    "{{ 2.5 | round }}|{{ 3.5 | round }}|{{ 2.675 | round(2) }}|{{ 1.234 | round(1, 'ceil') }}|{{ 1.289 | round(1, 'floor') }}|{{ 7 | round }}|{{ -2.5 | round }}",
    "{{ 'line1\\nline2\\n\\nline4' | indent }}|{{ 'a\\nb' | indent(2, true) }}|{{ 'a\\n\\nb' | indent(width='> ', blank=true) }}",
    "{{ 'x' | center(9) }}|{{ text | truncate(9) }}|{{ text | truncate(12, true) }}|{{ 'short' | truncate(3) }}|{{ text | truncate(10, false, '..', 0) }}",
    "{{ words | batch(3) | list }}|{{ words | batch(3, 'fill') | list }}|{{ user | attr('name') }}|{{ numbers | map('abs') | list }}|{{ words | map('upper') | join }}",
    "{{ people | map(attribute='age', default=0) | list }}|{{ people | map(attribute='age') | list }}|{{ messages | map(attribute='role') | unique | list }}",
    "{{ 'x' | safe }}|{{ 5 | string }}|{{ none | string }}|{{ [1,'a'] | string }}|{{ 1.0 | string }}",
    # tojson
    "{{ user | tojson }}|{{ messages | tojson }}|{{ 'é\"\\\\\\n\\t\\x01' | tojson }}|{{ [1.0, 2.5e-8, 1e16, none, true] | tojson }}",
    "{{ user | tojson(indent=2) }}|{{ [] | tojson(indent=2) }}|{{ {} | tojson(indent=2) }}|{{ [[]] | tojson(indent=1) }}",
    "{{ user | tojson(sort_keys=true) }}|{{ 'é☕😀' | tojson(ensure_ascii=true) }}|{{ user | tojson(separators=(',', ':')) }}|{{ user | tojson(indent='\\t') }}",
    "{{ messages[2].tool_calls[0].function.arguments | tojson }}|{{ {'k': pi, 'z': zero, 'n': nothing} | tojson }}",
    # methods
    "{{ '  x  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ '  x  '.lstrip() }}|{{ '  x  '.rstrip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b c '.split() }}|{{ 'a,b,c'.split(',', 1) }}",
    "{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'Hello World'.upper() }}|{{ 'Hello World'.lower() }}|{{ 'hello world'.title() }}|{{ 'hELLO'.capitalize() }}",
    "{{ 'hello'.replace('l', 'L') }}|{{ 'hello'.find('l') }}|{{ 'hello'.rfind('l') }}|{{ 'hello'.find('z') }}|{{ 'hello'.count('l') }}|{{ '-'.join(['a', 'b']) }}|{{ 'a b'.split(' ') }}",
    "{{ '{} and {}'.format('x', 1) }}|{{ '{0}{1}{0}'.format('a', 'b') }}|{{ '{name}!'.format(name='Ada') }}|{{ 'a\\nb\\r\\nc'.splitlines() }}|{{ 'a b c'.rsplit(' ', 1) }}",
    "{{ user.get('name') }}|{{ user.get('missing') }}|{{ user.get('missing', 'dflt') }}|{{ user.keys() | list }}|{{ user.values() | list }}|{{ words.index('cherry') }}|{{ numbers.count(1) }}",
    "{{ text.split(',')[0].strip().lower() }}|{{ messages[1].content.strip() }}|{{ messages | length > 2 }}",
    # globals
    "{{ namespace(a=1) }}|{% set d = dict(a=1, b=[2]) %}{{ d }}|{{ dict([('x', 1)]) }}|{{ strftime_now('%Y-%m-%d %H:%M:%S %a %A %b %B %j %p %I %y %e') }}|{{ strftime_now('%d %b %Y') }}",
    # raising and errors
    "{{ range(3) }}|{{ range(1, 7, 2) }}|{{ range(4)[2] }}|{{ range(3) | length }}|{{ range(0) is iterable }}",
    "{{ user.items() }}|{{ user.keys() | length }}|{{ 'age' in user.keys() }}|{% for k, v in user.items() %}{{ k }}{% endfor %}",
    "{% if [] | select %}generator is truthy{% endif %}|{% set g = words | select %}{{ g | list }}{{ g | list }}",
    "{{ nothing | selectattr('x') | list }}|{{ nothing | map('upper') | list }}|{{ (words | map('upper')) is iterable }}",
    "{{ {0: 'zero', 512: 'k'}[512] }}|{{ {1: 'a', 'b': 2} }}|{{ {1: 'a'} | tojson }}|{{ 1 in {1: 'a'} }}|{{ {true: 'x'}[1] }}",
    "{{ words | map('upper') | tojson }}",
    "{{ 'a<b>'|safe + '<i>' + \"'&\" }}|{{ '<x>' + 'y'|safe }}|{{ ('a'|safe) ~ '<' }}|{{ html|e|e }}|{{ ('<'|safe) * 2 }}",
    "{% set m = 'T:'|safe %}{{ m + user.name + '&' }}|{{ (m + '<') | length }}|{{ m is string }}|{{ m | tojson }}",
    "{{ 'x'|safe + 1 }}",
    "{{ words | select | length }}",
    "{{ words | select | last }}",
    "{{ raise_exception('custom ' ~ 'message') }}",
    "{{ undefined_name.attr }}",
    "{{ 'a' + 1 }}",
    "{{ 1 + 'a' }}",
    "{{ [1] + 'a' }}",
    "{{ 1 / 0 }}",
    "{{ 5 // 0 }}",
    "{{ undefined_name + 1 }}",
    "{{ 'a' < 1 }}",
    "{{ [1].append(2) }}",
    "{{ user.pop('name') }}",
    "{{ 5 | length }}",
    "{{ undefined_name | tojson }}",
    "{{ user.name.missing.deeper }}",
    "{{ messages[5].role }}",
    "{% set ns = namespace() %}{% set ns._private = 1 %}",
    "{{ range(200000) | length }}",
    "{% for a, b in [[1, 2, 3]] %}{% endfor %}",
    "{{ 2 in 'abc' }}",
    "{{ foo() }}",
]


class FixedDatetime(real_datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return FIXED_NOW


def render(template: str, messages, add_generation_prompt: bool, bos_token, eos_token, extra):
    """apply_chat_template(messages, tokenize=False, ...) without a tokenizer object."""
    if len(messages) == 0:
        raise ValueError("Cannot apply chat template to an empty conversation. Provide at least one message.")
    conversation = [{k: v for k, v in message.items() if v is not None} for message in messages]
    special = {k: v for k, v in (("bos_token", bos_token), ("eos_token", eos_token)) if v is not None}
    kwargs = {**special, **extra}
    tools = kwargs.pop("tools", None)
    rendered, _ = chat_template_utils.render_jinja_template(
        conversations=[conversation], tools=tools, chat_template=template,
        add_generation_prompt=add_generation_prompt, **kwargs)
    return rendered[0]


def case(template_id, template, name, messages, add_generation_prompt, extra):
    source = SOURCES[template_id]
    entry = {"template": template_id, "name": name, "messages": messages,
             "add_generation_prompt": add_generation_prompt, "bos_token": source["bos_token"],
             "eos_token": source["eos_token"], "extra_context": extra}
    try:
        entry["expected"] = render(template, messages, add_generation_prompt, source["bos_token"],
                                   source["eos_token"], extra)
    except jinja2.TemplateError as error:
        kind = "raise_exception" if type(error) is jinja2.exceptions.TemplateError else type(error).__name__
        entry["error"] = {"type": kind, "message": str(error)}
    except Exception as error:  # noqa: BLE001 — a template bug is a fixture too
        entry["error"] = {"type": type(error).__name__, "message": str(error)}
    return entry


def snippet(template: str):
    entry = {"template": template}
    try:
        entry["expected"] = chat_template_utils._compile_jinja_template(template).render(**SNIPPET_CONTEXT)
    except jinja2.TemplateError as error:
        kind = "raise_exception" if type(error) is jinja2.exceptions.TemplateError else type(error).__name__
        entry["error"] = {"type": kind, "message": str(error)}
    except Exception as error:  # noqa: BLE001
        entry["error"] = {"type": type(error).__name__, "message": str(error)}
    return entry


# Survey: every template trl==1.16.0 ships (trl/chat_templates/*.jinja, originals and training variants) and the
# real model templates vendored in the llama-cpp-python 0.3.36 sdist (vendor/llama.cpp/models/templates/*.jinja),
# on a few conversations, so the interpreter meets many real templates beyond the ones above.
SURVEY_CASES = [
    ("single_user", [U1], True, {}),
    ("system_multi_turn", [SYSTEM, U1, A1, U2], True, {}),
    ("unicode", CONVERSATIONS["unicode"], False, {}),
    ("whitespace_content", CONVERSATIONS["whitespace_content"], True, {}),
    ("tools", TOOL_CONVERSATION, True, {"tools": [WEATHER_TOOL]}),
]
SURVEY_TOKENS = {"bos_token": "<bos>", "eos_token": "<eos>"}


def survey(llama_cpp_python_sdist: str) -> dict:
    import trl

    paths = [(path, f"trl==1.16.0 trl/chat_templates/{path.name}")
             for path in sorted((pathlib.Path(trl.__file__).parent / "chat_templates").glob("*.jinja"))]
    vendored = pathlib.Path(llama_cpp_python_sdist) / "vendor" / "llama.cpp" / "models" / "templates"
    if not vendored.is_dir():
        raise SystemExit(f"{vendored} not found: unpack the sdist from `pip download --no-deps --no-binary "
                         "llama-cpp-python llama-cpp-python==0.3.36` and pass --llama-cpp-python-sdist")
    paths += [(path, f"llama-cpp-python 0.3.36 sdist vendor/llama.cpp/models/templates/{path.name}")
              for path in sorted(vendored.glob("*.jinja"))]
    templates = {}
    for path, origin in paths:
        text = path.read_text(encoding="utf-8")
        cases = []
        for name, messages, add_generation_prompt, extra in SURVEY_CASES:
            entry = {"name": name, "messages": messages, "add_generation_prompt": add_generation_prompt,
                     "extra_context": extra}
            try:
                entry["expected"] = render(text, messages, add_generation_prompt, SURVEY_TOKENS["bos_token"],
                                           SURVEY_TOKENS["eos_token"], extra)
            except jinja2.TemplateError as error:
                kind = "raise_exception" if type(error) is jinja2.exceptions.TemplateError else type(error).__name__
                entry["error"] = {"type": kind, "message": str(error)}
            except Exception as error:  # noqa: BLE001
                entry["error"] = {"type": type(error).__name__, "message": str(error)}
            cases.append(entry)
        key = path.stem if origin.startswith("trl") else "llama.cpp/" + path.stem
        templates[key] = {"origin": origin, "source": text, "cases": cases}
    return templates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extract", action="store_true", help="re-extract template strings from their sources")
    parser.add_argument("--gguf", default=str(ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"))
    parser.add_argument("--llama-cpp-python-sdist", default="/tmp/llama_cpp_python-0.3.36")
    args = parser.parse_args()
    if transformers.__version__ != "5.23.0" or jinja2.__version__ != "3.1.6":
        raise SystemExit(f"need transformers 5.23.0 and jinja2 3.1.6, got {transformers.__version__}, "
                         f"{jinja2.__version__}")
    if args.extract:
        extract(args)
    chat_template_utils.datetime = FixedDatetime  # strftime_now() reads the module global at call time

    cases = []
    templates = {}
    for template_id, source in SOURCES.items():
        template = (TEMPLATES / f"{template_id}.jinja").read_text(encoding="utf-8")
        templates[template_id] = {"file": f"templates/{template_id}.jinja", "origin": source["origin"],
                                  "bos_token": source["bos_token"], "eos_token": source["eos_token"]}
        for name, messages in CONVERSATIONS.items():
            for add_generation_prompt in (False, True):
                cases.append(case(template_id, template, name, messages, add_generation_prompt, {}))
        cases.append(case(template_id, template, "empty_conversation", [], True, {}))
        for ids, name, messages, add_generation_prompt, extra in EXTRA_CASES:
            if template_id in ids:
                cases.append(case(template_id, template, name, messages, add_generation_prompt, extra))

    fixture = {
        "generator": "reference/make_chat_template_fixtures.py",
        "versions": {"python": platform.python_version(), "transformers": transformers.__version__,
                     "jinja2": jinja2.__version__, "gguf": importlib.metadata.version("gguf"),
                     "trl": importlib.metadata.version("trl")},
        "strftime_now": FIXED_NOW.strftime("%Y-%m-%d %H:%M:%S"),
        "templates": templates,
        "cases": cases,
        "snippet_context": SNIPPET_CONTEXT,
        "snippets": [snippet(template) for template in SNIPPETS],
    }
    survey_fixture = {"generator": fixture["generator"], "versions": fixture["versions"],
                      "strftime_now": fixture["strftime_now"], "special_tokens": SURVEY_TOKENS,
                      "templates": survey(args.llama_cpp_python_sdist)}
    survey_out = FIXTURES / "template_survey.json"
    survey_out.write_text(json.dumps(survey_fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    out = FIXTURES / "chat_templates.json"
    out.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    errors = sum("error" in c for c in cases)
    print(f"wrote {out.relative_to(ROOT)}: {len(cases)} cases ({errors} raise), {len(templates)} templates, "
          f"{len(fixture['snippets'])} snippets",
          file=sys.stderr)


if __name__ == "__main__":
    main()
