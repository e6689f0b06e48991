#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Turn the series' cover letter back into a branch description.

  cover.py read patches/0000-cover-letter.patch

prints "subject\n\nbody" as "git format-patch --cover-from-description=
subject" wants it: the subject without its "[PREFIX vN 0/N]" tag, and the
text up to the shortlog ("Author Name (N):") that format-patch adds itself.
"""

import email
import email.policy
import re
import sys


def read(path):
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.default)
    subject = re.sub(r"^\[[^\]]*\]\s*", "", str(msg["subject"]).replace("\n", " "))
    body = msg.get_content()
    lines = body.split("\n")
    out = []
    for i, line in enumerate(lines):
        # The shortlog: "Name (N):" followed by indented subjects.
        if re.match(r"^\S.* \(\d+\):$", line) and i + 1 < len(lines) and lines[i + 1].startswith("  "):
            break
        out.append(line)
    return subject + "\n\n" + "\n".join(out).strip("\n") + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "read":
        sys.exit(__doc__)
    sys.stdout.write(read(sys.argv[2]))
