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
      # One plan (status, or lint of one file): V8's optimising compilers only compete with so short a process for the
      # cores (--max-opt=1 stops at the baseline compiler: 0.91 x the time of status, 0.93 x a lint of a 20 kB plan).
      # Lint of many plans (a folder, several files, worker threads) runs its rules often enough to need them.
      tiers=
      if [ "$1" = status ] || { [ $# -eq 2 ] && [ -f "$2" ]; }; then tiers=--max-opt=1; fi
      exec "$snapshot/node" --no-regexp-tier-up $tiers --snapshot-blob "$snapshot/read.blob" "$@"
    fi
  fi
  ;;
esac
exec node "$dist/cli/main.js" "$@"
