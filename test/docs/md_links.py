#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every relative link of every Markdown file in the repository resolves.

Checks inline links and images, [text](target) and ![alt](target), outside
code blocks and code spans: the target (without its #fragment) must be a
file or folder of the repository. External links (scheme:) and links
within a page (#fragment) are not checked. Prints one ok/not ok line per
file and the usual summary; exits 1 if a link is broken.
  md_links.py [REPO_ROOT]   (default $TEST_SRCDIR)
"""
import os
import re
import subprocess
import sys

LINK = re.compile(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
FENCE = re.compile(r'^\s*(```|~~~)')
CODE_SPAN = re.compile(r'(`+)(?:(?!\1).)+?\1')


def markdown_files(root):
    try:
        out = subprocess.run(['git', '-C', root, 'ls-files', '-z', '--cached', '--others',
                              '--exclude-standard', '--', '*.md'],
                             check=True, capture_output=True).stdout
        return sorted(p for p in out.decode().split('\0') if p)
    except (OSError, subprocess.CalledProcessError):
        found = []
        for d, dirs, files in os.walk(root):
            dirs[:] = [x for x in dirs if not x.startswith(('.', 'build'))]
            found += [os.path.relpath(os.path.join(d, f), root) for f in files if f.endswith('.md')]
        return sorted(found)


def broken_links(root, path):
    broken = []
    in_fence = False
    with open(os.path.join(root, path), encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if FENCE.match(line):
                in_fence = not in_fence
                continue
            if in_fence:
                continue
            for target in LINK.findall(CODE_SPAN.sub('', line)):
                if re.match(r'^[a-zA-Z][a-zA-Z0-9+.-]*:', target) or target.startswith('#'):
                    continue
                file_part = target.split('#', 1)[0]
                resolved = os.path.normpath(os.path.join(root, os.path.dirname(path), file_part))
                inside = resolved == root or resolved.startswith(root + os.sep)
                if not inside or not os.path.exists(resolved):
                    broken.append(f'{path}:{lineno}: {target}')
    return broken


def main():
    root = os.path.realpath(sys.argv[1] if len(sys.argv) > 1 else os.environ['TEST_SRCDIR'])
    files = markdown_files(root)
    passed = failed = 0
    for path in files:
        broken = broken_links(root, path)
        if broken:
            failed += 1
            print(f'not ok - {path}: every relative link resolves')
            for b in broken:
                print(f'#   broken link {b} (no such file in the repository)')
        else:
            passed += 1
            print(f'ok - {path}: every relative link resolves')
    print(f'{passed} passed, {failed} failed')
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == '__main__':
    sys.exit(main())
