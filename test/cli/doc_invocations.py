#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Lists every parsec-cli command and option the documentation uses.

Reads Markdown files and prints one line per use: KIND<TAB>WORD<TAB>FILE:LINE,
KIND being "command" or "option". An invocation is `parsec-cli ...` (or
`$cli ...` where the file defines cli="parsec-cli ...") in a fenced code
block or an inline code span, up to the end of the line or span, a pipe,
`&&`, `;` or `>`. Which options take a
value comes from `parsec-cli --help` (argv[1] is the program).
"""
import re
import subprocess
import sys

cli, files = sys.argv[1], sys.argv[2:]
help_text = subprocess.run([cli, "--help"], capture_output=True, text=True, check=True).stdout
takes_value = set()
for m in re.finditer(r"^\s+((?:--?[\w-]+(?:, )?)+)(?: ([A-Z][A-Z_|0-9]*))?", help_text, re.M):
    if m.group(2):
        takes_value.update(re.findall(r"--?[\w-]+", m.group(1)))
# Options named together on one help line ("--cn --c --st ... VALUE") all take a value.
for m in re.finditer(r"^\s+((?:--[\w-]+ )+)VALUE", help_text, re.M):
    takes_value.update(m.group(1).split())
commands = set(subprocess.run([cli, "--list-commands"], capture_output=True, text=True,
                              check=True).stdout.split())

for path in files:
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    alias = any(re.search(r'cli="parsec-cli\b', l) for l in lines)
    # parsec-cli as a word of its own: not "tests/parsec-cli-tests.sh" or "parsec-cli.c".
    word = r"(?<![\w/.-])parsec-cli(?![\w/.-])"
    pattern = r"(?:" + word + r"|\$cli\b)" if alias else word
    in_fence = False
    for no, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
            continue
        # Only code is an invocation: fenced blocks and `inline code`, never prose.
        spans = [line] if in_fence else re.findall(r"`([^`]+)`", line)
        for m in (m for span in spans for m in re.finditer(pattern, span)):
            rest = m.string[m.end():]
            rest = re.split(r"`|\|\s|&&|;|\s>|\s#", rest)[0]
            tokens = rest.split()
            where = f"{path}:{no}"
            i, command = 0, None
            while i < len(tokens):
                t = tokens[i].strip("\"'(),.")
                if t.startswith("-") and len(t) > 1:
                    name = t.split("=")[0]
                    print(f"option\t{name}\t{where}")
                    if name in takes_value and "=" not in t:
                        i += 1
                elif command is None and re.fullmatch(r"[a-z][a-z-]*", t):
                    command = t
                    print(f"command\t{t}\t{where}")
                    if t == "help":
                        break
                elif command is None:
                    break  # prose, a placeholder or a variable: nothing to check
                i += 1
