#!/usr/bin/env bash
# make demo: boot the test kernel with audit on and run scripts/guest/demo
# (auditd, the contid tool, ausearch).
. "$(dirname "$0")/lib.sh"
log=$BUILD/demo-console.log
"$TOP/scripts/vm.sh" --config test --quiet --timeout 300 --append "audit=1" --log "$log" -- /ac/bin/demo
# The guest's own output, without the kernel's boot messages.
grep -v '^\[ *[0-9]*\.[0-9]*\] ' "$log" | grep -v '^AC-VM-RESULT' | sed 's/\r$//'
