#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Unit tests for tbprof.py's block weights (make profile's instruction counts).
Prints KTAP, so its results count like the rest."""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_vmlog import load_script, run_ktap  # noqa: E402

tbprof = load_script("tbprof.py")

PAGE = 1 << tbprof.PAGE_SHIFT


def code(start, insns):
    """Lays out (length, mnemonic) pairs from `start`: the addresses and mnemonics tbprof uses."""
    addrs, mns, a = [], [], start
    for length, mn in insns:
        addrs.append(a)
        mns.append(mn)
        a += length
    return addrs, mns


class BlockInsns(unittest.TestCase):
    def test_ends_at_the_first_control_transfer(self):
        addrs, mns = code(0x1000, [(3, "mov"), (4, "add"), (2, "jne"), (3, "mov")])
        self.assertEqual(tbprof.block_insns(addrs, mns, 0x1000), 3)
        self.assertEqual(tbprof.block_insns(addrs, mns, addrs[3]), 1)

    def test_rep_is_a_block_of_one(self):
        addrs, mns = code(0x1000, [(3, "rep"), (3, "mov"), (1, "ret")])
        self.assertEqual(tbprof.block_insns(addrs, mns, 0x1000), 1)

    def test_unknown_address_counts_one(self):
        addrs, mns = code(0x1000, [(3, "mov"), (1, "ret")])
        self.assertEqual(tbprof.block_insns(addrs, mns, 0x1001), 1)

    def test_straddling_function_is_not_counted_twice(self):
        # Ten 4-byte moves and a ret from 16 bytes before a page boundary: TCG logs the blocks
        # it cuts there one after the other; together they are the function, once.
        start = 2 * PAGE - 16
        addrs, mns = code(start, [(4, "mov")] * 10 + [(1, "ret")])
        total, pc, blocks = 0, start, 0
        while True:
            k = tbprof.block_insns(addrs, mns, pc)
            total, blocks = total + k, blocks + 1
            if mns[addrs.index(pc) + k - 1] == "ret":
                break
            pc = addrs[addrs.index(pc) + k]
        self.assertGreater(blocks, 1)
        self.assertEqual(total, 11)

    def test_cut_before_an_instruction_that_could_cross(self):
        # From 32 bytes before the boundary, the move at -12 could reach into the next page (an
        # instruction has up to 15 bytes): the block ends before it, as TCG's translator ends it
        # under -icount, after the moves at -32, -28, -24, -20 and -16.
        start = 2 * PAGE - 32
        addrs, mns = code(start, [(4, "mov")] * 8 + [(1, "ret")])
        self.assertEqual(tbprof.block_insns(addrs, mns, start), 5)

    def test_block_within_a_page_is_whole(self):
        addrs, mns = code(PAGE + 0x100, [(4, "mov")] * 20 + [(1, "ret")])
        self.assertEqual(tbprof.block_insns(addrs, mns, PAGE + 0x100), 21)


if __name__ == "__main__":
    sys.exit(run_ktap(sys.modules[__name__]))
