# proc.sh: process-tree CPU accounting shared by the bench scripts
# (sourced by run.sh, edge.sh and scale.sh).

# tree PID: PID and its descendants (Kamailio forks its workers). The
# stat files are read through cat: a process may end while we read, and
# mawk gives up on a file that vanished.
tree() {
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { line=$0; sub(/.*\) /, "", line); split(line, f, " "); parent[$1]=f[2] }
    END { keep[root]=1; changed=1
      while (changed) { changed=0; for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p]=1; changed=1 } }
      for (p in keep) print p }'
}

# cpu_ticks PID: utime+stime (+ reaped children's) of PID's process tree.
cpu_ticks() {
  local p files=()
  for p in $(tree "$1"); do files+=("/proc/$p/stat"); done
  cat "${files[@]}" 2>/dev/null | awk '{ line=$0; sub(/.*\) /, "", line); split(line, f, " "); s+=f[12]+f[13]+f[14]+f[15] } END { print s+0 }'
}
