#!/bin/sh
# deepplan's command (the package's bin; scripts/build.mjs copies it to dist/cli/deepplan).
#
# `lint` and `status` start from the start-up snapshot when the build made one (docs/performance.md, "Start-up"):
# Node begins with the program already loaded and compiled. The snapshot only serves the Node binary that built it, so
# it is started with the copy of that binary kept beside it, and only from the folder it was built in (read.node
# says which). Every other command, and these two when there is no usable snapshot or DEEPPLAN_NO_SNAPSHOT is set,
# runs dist/cli/main.js on the Node of PATH, which hands over to the project's Node when that one is too old.
# --no-regexp-tier-up: a regular expression is compiled once, to machine code, on its first use, instead of first to
# bytecode and again on its second use; the rules' expressions all run once or a few times in a short command.
# npm links the bin (node_modules/.bin/deepplan): follow the link to find dist/; a path that is no link is used as it is.
self=$0
if [ -L "$self" ]; then self=$(readlink -f -- "$self" 2>/dev/null) || self=$0; fi
case $self in /*) ;; *) self=$PWD/$self ;; esac
dist=${self%/*/*}
case ${1-} in
lint | status)
  snapshot=$dist/snapshot
  if [ -z "${DEEPPLAN_NO_SNAPSHOT-}" ] && [ -x "$snapshot/node" ] && [ -r "$snapshot/read.blob" ] && [ -r "$snapshot/read.node" ]; then
    built=
    read -r built <"$snapshot/read.node" || true
    if [ "$built" = "$dist" ]; then
      # One plan (status, or lint of one file): V8's compilers only compete with so short a process for the cores
      # (--max-opt=1, the baseline compiler only: 0.91 x the time of status, 0.93 x a lint of a 20 kB plan; --max-opt=0,
      # the interpreter only, runs one plan as fast as that, 0.97-0.98 x, on 0.90 x the CPU: the baseline compiler's
      # thread compiled ~700 functions that each ran a few times). Lint of many plans (a folder, several files, worker
      # threads) runs its rules often enough to need every compiler.
      # --no-rehash-snapshot, for one plan too: V8 keeps the hash seed this installation's build drew at random
      # instead of drawing a new one and hashing the restored heap again (~5 % of a lint). A worker thread starts from
      # Node's own snapshot, whose seed is the same in every copy of this Node; only a lint of many plans starts workers,
      # and it keeps the rehash, so no hash table of deepplan's is ever seeded with a value a plan's author could know
      # (docs/performance.md, "Start-up").
      flags=
      if [ "$1" = status ] || { [ $# -eq 2 ] && [ -f "$2" ]; }; then flags='--max-opt=0 --no-rehash-snapshot'; fi
      # Node reads the blob into one buffer of its size and copies it into a second: with glibc's hugetlb tunable those
      # buffers (and the rest of malloc's large blocks) are backed by transparent huge pages where the system allows
      # them on request, ~2,000 page faults fewer (0.97 x a lint). A C library without the tunable ignores it.
      GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.malloc.hugetlb=1
      export GLIBC_TUNABLES
      exec "$snapshot/node" --no-regexp-tier-up $flags --snapshot-blob "$snapshot/read.blob" "$@"
    fi
  fi
  ;;
esac
exec node "$dist/cli/main.js" "$@"
